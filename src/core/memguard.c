/* Checking for the memory OpenBLAS will insist on (include/promo/memguard.h). */
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <promo/error.h>
#include <promo/memguard.h>

/* OpenBLAS's per-thread buffer (BUFFER_SIZE, 128 MiB on x86-64) plus room for the caller's
 * own work during the call. */
#define BLAS_BUFFER_BYTES ((size_t)160 << 20)

static atomic_int blas_has_buffer;

int promo_blas_memory_check(void)
{
    if (atomic_load(&blas_has_buffer))
        return PROMO_OK;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return PROMO_OK;
    void *p = mmap(NULL, BLAS_BUFFER_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return promo_fail(PROMO_ENOMEM,
                          "out of memory: the linear algebra library (OpenBLAS) needs a 128 MiB "
                          "work buffer, and the address-space limit (ulimit -v %llu KiB) leaves "
                          "no room for it",
                          (unsigned long long)(rl.rlim_cur / 1024));
    munmap(p, BLAS_BUFFER_BYTES);
    atomic_store(&blas_has_buffer, 1);
    return PROMO_OK;
}
