/* fuzz/fuzz_campaign.c: libFuzzer target for the campaign file reader (promo_campaign_read,
 * what `promo simulate --campaign FILE` reads), built by `make fuzz`; linked into the test
 * binary without PROMO_FUZZ, where tests/test_safety.c replays fuzz/corpus/campaign.
 *
 * The reader takes a path, so each input is written to one temporary file per process (under
 * /dev/shm when it exists: no disk traffic per input) and read back. Any status is fine; a
 * crash, a sanitizer report or a leak is not. A file that reads must report a row count that
 * is the number of its data records at most. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/campaign.h>
#include <promo/error.h>

int fuzz_campaign_one(const uint8_t *data, size_t n);

static char g_path[256];

static const char *input_path(void)
{
    if (!g_path[0])
        snprintf(g_path, sizeof g_path, "%s/promo-fuzz-campaign-%ld.csv",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    return g_path;
}

int fuzz_campaign_one(const uint8_t *data, size_t n)
{
    if (n > 1 << 16)
        return 0; /* campaign files are small; big inputs only slow the search */
    const char *path = input_path();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    if (n && write(fd, data, n) != (ssize_t)n)
        abort();
    close(fd);
    promo_campaign_file *f = NULL;
    if (promo_campaign_read(path, &f) == PROMO_OK) {
        size_t lines = 1;
        for (size_t i = 0; i < n; i++)
            lines += data[i] == '\n' || data[i] == '\r';
        if (promo_campaign_file_rows(f) > lines)
            abort();
    }
    promo_campaign_file_free(f);
    unlink(path);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_campaign_one(data, size);
}
#endif
