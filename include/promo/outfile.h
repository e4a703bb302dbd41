/* promo/outfile.h: writing an output file the user named (--out FILE), safely.
 *
 * What is at the path decides how it is written:
 *   - nothing, or a regular file: the bytes go to a temporary beside it (".NAME.tmp-<pid>-<n>",
 *     same directory, so the rename moves no data), which is flushed, fsynced and renamed over
 *     the path at commit; the directory is fsynced. Readers see the old file or the new one,
 *     never a part; a failure (disk full, RLIMIT_FSIZE, a read-only directory) leaves the old
 *     file as it was and no temporary. A replaced file keeps its permission bits.
 *   - "-": standard output.
 *   - a character device, a FIFO (or a block device): written directly, in place; every write
 *     and the final flush/close are checked, so `--out /dev/full` is an error, not exit 0.
 *     Such a path is never replaced by a regular file.
 *   - a symlink: followed. The file it points to is written as above (temporary beside the
 *     target, renamed over the target) and the link stays a link. Why follow rather than
 *     refuse: a link at an output path is how people point a fixed name at a shared location,
 *     and replacing the link with a regular file (what a rename over the link would do)
 *     silently stops the target from being updated. A dangling link or a loop is refused.
 *   - a directory or a socket: refused.
 * Temporaries left by killed processes (same name pattern, pid no longer alive) beside the
 * target are removed when the next output is opened there.
 *
 * Errors: PROMO_EINPUT naming the path for what is the user's to fix (missing directory, no
 * permission, a directory, a dangling link, a loop); PROMO_EIO for a failed write, fsync or
 * close ("PATH: write failed: No space left on device").
 *
 * Usage:
 *   promo_outfile *o = NULL;
 *   if (promo_outfile_open(path, &o)) goto fail;
 *   fprintf(promo_outfile_stream(o), ...);
 *   if (promo_outfile_commit(o)) goto fail;   // frees o, whatever it returns
 * or, for bytes already in memory: promo_outfile_write(path, buf, n).
 */
#ifndef PROMO_OUTFILE_H
#define PROMO_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_outfile promo_outfile;

/* Open path ("-" = stdout) for writing, as described above. *out is NULL on failure. */
int promo_outfile_open(const char *path, promo_outfile **out /* OUT */);
/* The stream to write to. Borrowed: valid until commit or abort. */
FILE *promo_outfile_stream(promo_outfile *o);
/* Finish: check every write, flush, fsync and rename (regular files) or close (devices).
 * Frees o either way; on failure the old file is untouched and no temporary is left. */
int promo_outfile_commit(promo_outfile *o);
/* Give up: remove the temporary (a device keeps what was written). Frees o. NULL-safe. */
void promo_outfile_abort(promo_outfile *o);
/* open + write n bytes + commit. */
int promo_outfile_write(const char *path, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
