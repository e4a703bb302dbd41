/* promo/infile.h: reading a whole input file the user named, without hanging or crashing on
 * what may be there instead of a file.
 *
 * promo_infile_read opens the path without blocking (O_NONBLOCK: a FIFO with no writer does
 * not hold the open forever), checks what it is with fstat on that descriptor (no window
 * between the check and the use), and reads it with read(2) into memory. A regular file that
 * is shorter at the end of the read than fstat said is reported ("PATH: the file changed
 * while it was read ..."), not parsed half.
 *
 * promo_infile_map does the same checks but maps a regular file instead of copying it (streams
 * are still read). On this kind of VM the copy was the larger part of a parse: read(2) of a
 * 265 MB CSV took 0.17-0.25 s (every page of the buffer is fresh memory, faulted and zeroed
 * before the copy) where mapping it and faulting its pages took 0.02 s on one thread, 0.01 s on
 * two (bench/RESULTS.md). The danger of a
 * mapping is a file that shrinks while it is mapped: touching a page past its new end is
 * SIGBUS. A process-wide SIGBUS handler guards every mapping this module made: a fault inside
 * one maps zero pages over the rest of it (mmap MAP_FIXED, which may be called from a signal
 * handler on Linux) and notes the mapping as damaged, so the thread, whichever it is, reads
 * zeros instead of dying; promo_infile_unmap then reports the change as the read path does.
 * Faults anywhere else go to the handler that was there before (or kill the process as
 * SIGBUS does by default). A caller must therefore call promo_infile_unmap, and believe what
 * it made of the bytes, only if that returns PROMO_OK.
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

/* The file at path, as promo_infile_read accepts it, mapped read-only when it is a regular file
 * (*data then lies in the mapping) and read otherwise. *data is NULL on failure; a regular file
 * of 0 bytes gives *data "" and *n 0. No NUL after the bytes: use *n. */
int promo_infile_map(const char *path,
                     unsigned flags,
                     const char **data /* OUT */,
                     size_t *n /* OUT */);

/* Release what promo_infile_map gave (NULL-safe). PROMO_EINPUT ("PATH: the file changed while
 * it was read ...") when the file shrank while it was mapped: its lost tail read as zero bytes,
 * so whatever was made of data is wrong. */
int promo_infile_unmap(const char *data, size_t n);

/* The status for an errno from opening or reading a user's path: PROMO_ENOTFOUND for ENOENT,
 * PROMO_EINPUT for what the user can fix (EACCES, ELOOP, ENOTDIR, EISDIR, ...), else
 * PROMO_EIO. */
int promo_infile_status(int e);

#ifdef __cplusplus
}
#endif
#endif
