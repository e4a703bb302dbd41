/* `promo serve`: the JSON API and the web page over HTTP (src/server/). Parses the options,
 * makes or reads the API key, starts the server, prints where it listens and the page's
 * address, and waits for SIGINT or SIGTERM, then stops it cleanly (requests in flight finish).
 *
 * The signals are blocked before the server's threads start, so they inherit the mask and the
 * main thread alone receives them, with sigwait: no handler runs in a random thread. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>

#include "cli/cli.h"
#include "server/api.h"
#include "server/server.h"

/* 32 hex digits of the kernel's randomness. */
static int make_key(char *out, size_t n)
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return promo_fail(PROMO_EIO, "serve: no randomness for the API key: %s",
                              strerror(errno));
        got += (size_t)r;
    }
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < n; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return PROMO_OK;
}

/* The directory `web` beside the executable (build/web for build/promo). */
static void default_web_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    out[0] = 0;
    if (len <= 0)
        return;
    exe[len] = 0;
    snprintf(out, n, "%s/web", dirname(exe));
}

int cmd_serve(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *bind = "127.0.0.1", *web = NULL;
    unsigned port = 8080, threads = 4;
    int quiet = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_UINT("port", "N", 0, 65535, &port), .help = "TCP port; 0 = any free one"},
        {CLI_STRING("bind", "ADDR", &bind),
         .help = "address to listen on (IPv4 or IPv6); anything but loopback exposes the\n"
                 "workspace to the network (the POST routes still need the key)"},
        {CLI_THREADS(&threads)},
        {CLI_PATH("web", "DIR", &web), .help = "the web page's files",
         .def = "the directory web beside the promo binary (make web)"},
        {CLI_FLAG("no-log", &quiet), .help = "no log line per request on stderr"},
        {0},
    };
    const cli_spec spec = {
        .name = "serve",
        .usage = "usage: promo serve --ws DIR [--port 8080] [--bind 127.0.0.1] [--threads N]\n"
                 "                   [--web DIR] [--no-log]\n",
        .about =
            "Serve the workspace's JSON API (GET /api/health, /api/products?query=,\n"
            "/api/customers/ID, /api/segments; POST /api/campaign, /api/optimize,\n"
            "/api/similar-products, /api/crosssell, /api/simulate; GET /metrics,\n"
            "/api/openapi.json) and the web page. Tables, features and models are loaded once\n"
            "and reloaded when the workspace changes; the workspace is not locked between\n"
            "requests, so promo train and promo ingest run beside the server.\n\n"
            "Every POST needs the header `Authorization: Bearer KEY`: KEY is $PROMO_API_KEY, or\n"
            "when that is unset a random key made at start and printed in the page's address\n"
            "(open http://127.0.0.1:PORT/#key=KEY). Stop with Ctrl-C (SIGINT) or SIGTERM.\n",
        .opts = opts,
        .epilog = "exit status: 0 stopped by a signal, 2 bad usage or workspace, 1 internal "
                  "failure (e.g. the port is taken)\n",
    };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 && n < 1024 ? (unsigned)n : 4;
    }
    if (promo_log_get_level() < PROMO_LOG_INFO)
        quiet = 1; /* -q: as quiet as --no-log */

    char key[256], web_dir[PATH_MAX];
    const char *env_key = getenv("PROMO_API_KEY");
    int generated = !(env_key && *env_key);
    if (!generated) {
        if (strlen(env_key) >= sizeof key) {
            fprintf(stderr, "promo serve: PROMO_API_KEY is longer than %zu bytes\n",
                    sizeof key - 1);
            return CLI_EXIT_INPUT;
        }
        snprintf(key, sizeof key, "%s", env_key);
    } else if ((rc = make_key(key, sizeof key))) {
        return cli_report(rc);
    }
    if (web)
        snprintf(web_dir, sizeof web_dir, "%s", web);
    else
        default_web_dir(web_dir, sizeof web_dir);

    promo_api *api = NULL;
    promo_server *srv = NULL;
    if ((rc = promo_api_open(ws, &api)))
        return cli_report(rc);
    /* While another command writes the workspace, answer from memory instead of waiting for it
     * (api.h: promo_api_begin). */
    promo_store_set_wait(0);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    promo_server_params p = promo_server_params_default();
    p.bind = bind;
    p.port = port;
    p.threads = threads;
    p.web_dir = web_dir[0] ? web_dir : NULL;
    p.api_key = key;
    p.quiet = quiet;
    if ((rc = promo_server_start(api, &p, &srv))) {
        pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
        promo_api_free(api);
        return cli_report(rc == PROMO_EUSAGE ? rc : PROMO_EIO);
    }
    unsigned bound = promo_server_port(srv);
    int v6 = strchr(bind, ':') != NULL;
    const char *host = !strcmp(bind, "0.0.0.0") ? "127.0.0.1" : !strcmp(bind, "::") ? "::1" : bind;
    printf("promo serve: workspace %s, listening on http://%s%s%s:%u/\n", ws, v6 ? "[" : "", bind,
           v6 ? "]" : "", bound);
    if (access(web_dir, F_OK) != 0)
        printf("web page: %s is absent (run `make web`); / explains\n",
               web_dir[0] ? web_dir : "(none)");
    if (generated)
        printf("open http://%s%s%s:%u/#key=%s\n", v6 ? "[" : "", host, v6 ? "]" : "", bound, key);
    else
        printf("open http://%s%s%s:%u/ (the API key is $PROMO_API_KEY)\n", v6 ? "[" : "", host,
               v6 ? "]" : "", bound);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    if (!quiet)
        fprintf(stderr, "promo serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    promo_server_stop(srv);
    promo_api_free(api);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    return CLI_EXIT_OK;
}
