/* The web page in a real browser (issue 17): `promo serve` on a small generated workspace with
 * the uplift model trained and segments computed, driven by tests/browser/web.test.mjs
 * (playwright-core from web/node_modules, Debian's headless /usr/bin/chromium): pick a
 * product, move the discount slider, see the forecast change and the table fill, download the
 * CSV, again with a bundle (promo simulate plays that file), open the segments view, a wrong
 * key's 401. Screenshots in out/. `make test` installs
 * chromium and node (make deps) and builds the page (make web) first, so a missing piece is a
 * failure here, never a skip: the message says what is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "t_world.h"

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static void add_missing(char *buf, size_t n, const char *what)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "%s%s", len ? "; " : "", what);
}

T_TEST(web_page_in_headless_chromium)
{
    const char *web = env_or("PROMO_WEB", "build/web");
    const char *chromium = env_or("PROMO_CHROMIUM", "/usr/bin/chromium");
    char missing[2048] = "", path[1200];
    if (t_sh("command -v node", NULL, NULL) != 0)
        add_missing(missing, sizeof missing, "node (Debian package nodejs: make deps)");
    if (access("web/node_modules/playwright-core/package.json", R_OK) != 0)
        add_missing(missing, sizeof missing,
                    "web/node_modules/playwright-core (make web runs npm ci in web/)");
    if (access(chromium, X_OK) != 0) {
        snprintf(path, sizeof path, "%s (Debian package chromium: make deps)", chromium);
        add_missing(missing, sizeof missing, path);
    }
    snprintf(path, sizeof path, "%s/index.html", web);
    if (access(path, R_OK) != 0) {
        char what[1300];
        snprintf(what, sizeof what, "%s (make web)", path);
        add_missing(missing, sizeof missing, what);
    }
    T_ASSERT_MSG(missing[0] == '\0', "the browser test cannot run, missing: %s", missing);

    /* A small world: the uplift model (the forecaster's), the personas and tiers. */
    char ws[512], args[1400], *out = NULL, *err = NULL;
    t_world_write(ws, sizeof ws, 300, 30, 4, 12, 12000);
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --rounds 15 --threads 1", ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "train exit %d: %s", ec, err);
    free(out);
    free(err);
    snprintf(args, sizeof args, "segment --ws '%s' --method personas --k 4", ws);
    ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "segment exit %d: %s", ec, err);
    free(out);
    free(err);

    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "node tests/browser/web.test.mjs --promo '%s' --ws '%s' --web '%s' --out out 2>&1",
             t_promo_bin(), ws, web);
    ec = t_sh(cmd, &out, &err);
    /* The script's output, kept for the message (a failed assertion does not return). */
    static char seen[16384];
    snprintf(seen, sizeof seen, "%s", out ? out : "");
    free(out);
    free(err);
    T_ASSERT_MSG(ec == 0, "%s\nexit %d:\n%s", cmd, ec, seen);
    /* The script's own checks passed; what it saw is in its output. */
    T_ASSERT_CONTAINS(seen, "web.test: CSV ");
    T_ASSERT_CONTAINS(seen, "web.test: bundle: ");
    T_ASSERT_CONTAINS(seen, "web.test: simulate of the CSV: ");
    T_ASSERT_CONTAINS(seen, "web.test: ok");
}
