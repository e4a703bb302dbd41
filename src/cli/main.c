/* The `promo` executable: all logic is in promo_cli_main so tests can run it in-process. */
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"

/* Under an address-space limit (ulimit -v), OpenBLAS must run single-threaded. Its worker
 * threads start when the library is loaded, before main, and each allocates a large buffer
 * (128 MiB here) in a loop that retries a failed allocation forever: under the limit a
 * worker spins at 100% CPU, and at exit the library's destructor waits for it, so a command
 * that reported "out of memory" never exits. OpenBLAS reads OPENBLAS_NUM_THREADS only at
 * load time, so the one way to set it is to start again with it set: one exec, only when a
 * limit is set and the user did not choose a thread count. */
static void blas_single_thread_under_limit(char **argv)
{
    struct rlimit rl;
    if (getenv("OPENBLAS_NUM_THREADS") || getrlimit(RLIMIT_AS, &rl) != 0 ||
        rl.rlim_cur == RLIM_INFINITY)
        return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0)
        execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
}

int main(int argc, char **argv)
{
    blas_single_thread_under_limit(argv);
    return promo_cli_main(argc, argv);
}
