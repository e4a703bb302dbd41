/* promo/memguard.h: refuse, with a message, work that a library would hang on for want of
 * memory.
 *
 * OpenBLAS (0.3.21, Debian 12) allocates a 128 MiB work buffer at the first LAPACK/level-3
 * call of a thread and retries a failed allocation forever: under an address-space limit
 * (ulimit -v) the command spins at 100% CPU instead of failing. promo_blas_memory_check, called
 * before such a call, reserves and releases that much address space first: PROMO_ENOMEM with a
 * message when it cannot, so the command exits 1 at once. Without a limit it costs nothing
 * (the check is skipped: the kernel then overcommits and the allocation does not fail). After
 * one success the buffer is OpenBLAS's and kept, so later calls skip the check. The promo
 * executable also runs OpenBLAS single-threaded under a limit (src/cli/main.c): its worker
 * threads would otherwise spin in the same loop. Thread-safe. */
#ifndef PROMO_MEMGUARD_H
#define PROMO_MEMGUARD_H

#ifdef __cplusplus
extern "C" {
#endif

int promo_blas_memory_check(void);

/* The same for `callers` threads that may each call OpenBLAS at once (each gets its own
 * buffer): OpenMP loops over small LAPACK/BLAS problems. */
int promo_blas_memory_check_for(int callers);

#ifdef __cplusplus
}
#endif
#endif
