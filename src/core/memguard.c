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

/* The most concurrent callers whose buffers were found to fit (then OpenBLAS's: kept). */
static atomic_int blas_callers_fit;

int promo_blas_memory_check_for(int callers)
{
    if (callers < 1)
        callers = 1;
    if (atomic_load(&blas_callers_fit) >= callers)
        return PROMO_OK;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return PROMO_OK;
    size_t bytes = BLAS_BUFFER_BYTES * (size_t)callers;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return promo_fail(PROMO_ENOMEM,
                          "out of memory: the linear algebra library (OpenBLAS) needs a 128 MiB "
                          "work buffer per thread (%d here), and the address-space limit (ulimit "
                          "-v %llu KiB) leaves no room for them",
                          callers, (unsigned long long)(rl.rlim_cur / 1024));
    munmap(p, bytes);
    int seen = atomic_load(&blas_callers_fit);
    while (seen < callers && !atomic_compare_exchange_weak(&blas_callers_fit, &seen, callers))
        ;
    return PROMO_OK;
}

int promo_blas_memory_check(void)
{
    return promo_blas_memory_check_for(1);
}
