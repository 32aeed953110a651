# sockit: plain make. `make` builds build/sockit and build/libsockit.a;
# `make test` runs every unit and integration test; `make help` lists targets.
# Local settings (CC=clang, extra CFLAGS) go in an optional, git-ignored config.mak.

-include config.mak

CC       ?= cc
PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
# One spelling per build directory: an absolute BUILD inside the tree (as
# tests/integration/test_install.py passes it) would write dependency files
# for other target names, and a later `make` would miss header changes.
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))
SANITIZE ?=
VERSION  := $(shell sed -n 's/^#define SOCKIT_VERSION "\(.*\)"/\1/p' include/sockit/sockit.h)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
# liburing: the loop's io_uring path (src/lib/loop_uring.c); threads: the
# loop's workers (src/lib/loop_work.c); zlib: gzip bodies for the HTTP
# client (src/lib/http_gunzip.c).
LDLIBS   := -luring -pthread -lz
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRC  := $(sort $(wildcard src/lib/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)

LIB := $(BUILD)/libsockit.a
BIN := $(BUILD)/sockit

.PHONY: all run test unit integration asan valgrind bench fuzz install uninstall clean help deps-build deps-test \
	deps-browser

all: $(BIN) $(LIB) $(EXAMPLE_BIN)

# A change of compiler or flags rebuilds everything: the flags are a prerequisite.
FLAGS_FILE := $(BUILD)/.flags
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_FILE) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(call say,LD,$@)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(FLAGS_FILE) | deps-test
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Isrc/lib -MMD -MP -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS) -lcmocka

# Test drivers that expose library parts to the integration tests.
$(BUILD)/tests/%: tests/tools/%.c $(LIB) $(FLAGS_FILE) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# The course notes' programs: plain POSIX ones and libsockit ones alike.
$(BUILD)/examples/%: examples/%.c $(LIB) $(FLAGS_FILE) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
# Chromium and playwright-core for tests/browser; npm ci again only when
# package-lock.json is newer than the node_modules it installed.
deps-browser:
	@scripts/deps.sh browser
	@if [ ! -d tests/browser/node_modules ] || \
	    [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then \
		cd tests/browser && npm ci --no-audit --no-fund && touch node_modules; fi

run: $(BIN)
	@scripts/demo.sh $(BIN)

test: unit integration

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: $(BIN) $(EXAMPLE_BIN) $(TOOL_BIN) | deps-test deps-browser
	SOCKIT=$(abspath $(BIN)) $(PYTHON) -m pytest -q -s tests/integration

asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 test

# Valgrind cannot see the kernel write into io_uring's receive buffers (it
# would report every received byte as uninitialised), so the loop stays on
# epoll here: the CLI honours SOCKIT_IO_URING=0, and test_loop skips its
# io_uring variants under it (`make unit` and `make asan` run them).
valgrind: export SOCKIT_IO_URING = 0
valgrind: $(UNIT_BIN) $(BIN)
	@scripts/deps.sh valgrind
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all $$t; done
	echo 10.0.0.0/8 | valgrind -q --error-exitcode=99 --leak-check=full $(BIN) ip --json - >/dev/null

bench: $(BIN)
	@scripts/deps.sh bench
	@set -e; for b in bench/*.sh; do echo "== $$b"; sh $$b $(abspath $(BIN)); done

# libFuzzer on the HTTP parsers, one target per tests/fuzz/fuzz_<name>.c:
# http_parse (requests, chunked bodies) and http_response (responses and
# chunked bodies as the client reads them). clang compiles the library
# sources into each fuzzer (never the gcc-built libsockit.a), which then
# runs for FUZZ_SECS seconds on a fresh copy of its seed corpus
# (tests/fuzz/corpus for http_parse, tests/fuzz/corpus_<name> for the
# others). A crash, leak, sanitizer report or input slower than 10 s fails
# the make; the input that did it is left in $(BUILD)/fuzz/crash-* (rerun:
# $(BUILD)/fuzz/fuzz_<name> FILE).
FUZZ_SECS ?= 60
FUZZ_NAMES := http_parse http_response
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(wildcard src/lib/*.h include/sockit/*.h)
	@scripts/deps.sh fuzz
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for n in $(FUZZ_NAMES); do \
		corpus=tests/fuzz/corpus; [ $$n = http_parse ] || corpus=tests/fuzz/corpus_$$n; \
		echo "== fuzz_$$n ($$corpus, $(FUZZ_SECS) s)"; \
		rm -rf $(BUILD)/fuzz/corpus_$$n && mkdir -p $(BUILD)/fuzz/corpus_$$n; \
		cp $$corpus/* $(BUILD)/fuzz/corpus_$$n/; \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECS) -max_len=20000 -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus_$$n; \
	done

install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/sockit $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sockit
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libsockit.a
	install -m 644 include/sockit/*.h $(DESTDIR)$(PREFIX)/include/sockit/
	install -m 644 docs/sockit.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockit.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' sockit.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/sockit.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockit $(DESTDIR)$(PREFIX)/lib/libsockit.a \
		$(DESTDIR)$(PREFIX)/share/man/man1/sockit.1 $(DESTDIR)$(PREFIX)/lib/pkgconfig/sockit.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/sockit

clean:
	rm -rf build

help:
	@echo 'targets: all run test unit integration asan valgrind bench fuzz install uninstall clean'
	@echo 'options: V=1 (show commands) CC=clang PREFIX=/usr DESTDIR=/tmp/stage FUZZ_SECS=60'

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(EXAMPLE_BIN:=.d) $(TOOL_BIN:=.d)
