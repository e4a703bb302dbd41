# promo: one non-recursive GNU Makefile (STYLE.md 3.10).
#   make deps    install the Debian packages we need (idempotent)
#   make         build/promo and build/libpromo.a (optimised)
#   make test    deps + every test under ASan/UBSan (build/asan)
#   make demo    deps + build + promo demo
#   make fuzz    libFuzzer targets with clang (build/fuzz)
#   make valgrind  the demo on small data under valgrind
#   make bench   the benchmarks in bench/ (JSON lines)
#   make web     the web page's static assets in build/web (npm ci + esbuild)

CC      ?= gcc
# Each developer (or helper) may build in its own tree: make BUILD=build-me test
BUILD   ?= build
PKGS    := sqlite3 libcjson xgboost gsl libmicrohttpd
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wundef -Wvla -Wno-format-nonliteral
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL's pkg-config adds its reference CBLAS (-lgslcblas) before OpenBLAS, which would send
# every cblas_* call (ours and GSL's) to the slow reference code: OpenBLAS provides CBLAS.
PKG_LIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
CFLAGS_COMMON := $(WARN) -Iinclude -Isrc $(PKG_CFLAGS) -fopenmp -MMD -MP
LIBS    := $(PKG_LIBS) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread

OPT_CFLAGS  := $(CFLAGS_COMMON) -O2 -g -march=x86-64-v2
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS := $(CFLAGS_COMMON) -O1 -g $(ASAN_FLAGS) -DPROMO_TESTING=1

LIB_SRC  := $(sort $(wildcard src/core/*.c src/data/*.c src/data/profiles/*.c src/synth/*.c src/features/*.c \
             src/models/*.c src/engine/*.c src/eval/*.c src/server/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ      := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/asan/obj/%.o)
ASAN_CLI_OBJ := $(filter-out $(BUILD)/asan/obj/src/cli/main.o,$(CLI_SRC:%.c=$(BUILD)/asan/obj/%.o))
ASAN_TEST_OBJ:= $(TEST_SRC:%.c=$(BUILD)/asan/obj/%.o)
FUZZ_REPLAY_OBJ := $(FUZZ_SRC:%.c=$(BUILD)/asan/obj/%.o)

.PHONY: all deps test demo fuzz valgrind bench lint clean check-deps web

all: $(BUILD)/promo $(BUILD)/libpromo.a

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(OPT_CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/libpromo.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/promo: $(CLI_OBJ) $(BUILD)/libpromo.a
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libpromo.a $(LIBS)

$(BUILD)/asan/libpromo.a: $(ASAN_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/promo: $(BUILD)/asan/obj/src/cli/main.o $(ASAN_CLI_OBJ) $(BUILD)/asan/libpromo.a
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

# The test binary links the CLI objects too (minus main) so tests can call commands in-process.
# Fuzz targets are linked in with their replay driver so `make test` replays the corpora.
$(BUILD)/asan/promo-tests: $(ASAN_TEST_OBJ) $(ASAN_CLI_OBJ) $(FUZZ_REPLAY_OBJ) $(BUILD)/asan/libpromo.a
	$(CC) $(ASAN_FLAGS) -o $@ $(ASAN_TEST_OBJ) $(ASAN_CLI_OBJ) $(FUZZ_REPLAY_OBJ) $(BUILD)/asan/libpromo.a $(LIBS)

# The OpenAPI document is compiled in with .incbin, which -MMD does not see.
$(BUILD)/obj/src/server/openapi_blob.o $(BUILD)/asan/obj/src/server/openapi_blob.o: src/server/openapi.json

deps:
	@sh tools/deps.sh

# The web page (web/): npm ci when node_modules is missing or older than the lock file, then
# esbuild bundles web/src (and uPlot) into $(BUILD)/web, which `promo serve` serves.
WEB_SRC := $(wildcard web/src/*) web/build.mjs
web: $(BUILD)/web/index.html

web/node_modules/.promo-ci: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUILD)/web/index.html: $(WEB_SRC) web/node_modules/.promo-ci
	node web/build.mjs $(BUILD)/web

# Tests run from the project root; PROMO_BIN lets CLI tests exec the sanitized binary.
test: deps
	@$(MAKE) -j2 --no-print-directory $(BUILD)/asan/promo-tests $(BUILD)/asan/promo $(BUILD)/promo web
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  PROMO_BIN=$(BUILD)/asan/promo PROMO_RELEASE_BIN=$(BUILD)/promo PROMO_WEB=$(BUILD)/web \
	  ./$(BUILD)/asan/promo-tests $(T)

demo: deps
	@$(MAKE) -j2 --no-print-directory $(BUILD)/promo web
	./$(BUILD)/promo demo --ws promo-ws

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) -fopenmp -g -O1 \
               -fsanitize=fuzzer,address,undefined -DPROMO_FUZZ=1
FUZZ_LIB_SRC := $(LIB_SRC)
fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "clang $$n"; \
	  clang-14 $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/$$n $$f $(FUZZ_LIB_SRC) $(LIBS) || exit 1; done

valgrind: deps
	@$(MAKE) -j2 --no-print-directory $(BUILD)/promo
	rm -rf $(BUILD)/vg-ws
	OMP_NUM_THREADS=1 valgrind --leak-check=full --errors-for-leak-kinds=definite \
	  --error-exitcode=99 ./$(BUILD)/promo demo --ws $(BUILD)/vg-ws --small

bench: deps all
	@sh bench/run.sh

lint:
	clang-format --dry-run --Werror $(LIB_SRC) $(CLI_SRC) include/promo/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance -Iinclude src

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(ASAN_LIB_OBJ:.o=.d) $(ASAN_CLI_OBJ:.o=.d) \
         $(ASAN_TEST_OBJ:.o=.d) $(FUZZ_REPLAY_OBJ:.o=.d) $(BUILD)/asan/obj/src/cli/main.d
