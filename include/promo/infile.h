/* promo/infile.h: reading a whole input file the user named, without hanging or crashing on
 * what may be there instead of a file.
 *
 * promo_infile_read opens the path without blocking (O_NONBLOCK: a FIFO with no writer does
 * not hold the open forever), checks what it is with fstat on that descriptor (no window
 * between the check and the use), and reads it with read(2) into memory. Why not mmap: a
 * mapped file that shrinks while it is read kills the process with SIGBUS, and a guard for
 * that (a SIGBUS handler and siglongjmp) cannot work across the parser's worker threads;
 * copying from the page cache costs about a tenth of a second per GB (PERF.md: read() at
 * 29 GB/s), far below parsing. A regular file that is shorter at the end of the read than
 * fstat said is reported ("PATH: the file changed while it was read ..."), not parsed half.
 *
 * What is accepted: a regular file; with PROMO_INFILE_STREAM also "-" (standard input) and a
 * FIFO or pipe (process substitution, `mkfifo`), read to its end as a stream on purpose (a
 * FIFO waits for its writer, as the user asked). Refused with
 * PROMO_EINPUT naming the path: a directory, a character or block device (/dev/zero would
 * never end), a socket, and FIFOs without the flag.
 *
 * Errors: PROMO_ENOTFOUND (no such file), PROMO_EINPUT (the path is the user's to fix:
 * permission denied, a symlink loop, not a directory on the way, the kinds above, a file that
 * changed while read), PROMO_EIO (a read error), PROMO_ENOMEM. Exit 2 for all but the last
 * two in the CLI.
 */
#ifndef PROMO_INFILE_H
#define PROMO_INFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROMO_INFILE_STREAM 1u /* also "-" (stdin) and FIFOs/pipes, read to their end */

/* Read all of path into *data (n bytes plus a NUL after them, owned by the caller:
 * promo_free). *data is NULL on failure. */
int promo_infile_read(const char *path, unsigned flags, char **data /* OUT */, size_t *n /* OUT */);

/* The status for an errno from opening or reading a user's path: PROMO_ENOTFOUND for ENOENT,
 * PROMO_EINPUT for what the user can fix (EACCES, ELOOP, ENOTDIR, EISDIR, ...), else
 * PROMO_EIO. */
int promo_infile_status(int e);

#ifdef __cplusplus
}
#endif
#endif
