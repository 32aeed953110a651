# sockit: plain make. `make` builds build/sockit and build/libsockit.a;
# `make test` runs every unit and integration test; `make help` lists targets.
# Local settings (CC=clang, extra CFLAGS) go in an optional, git-ignored config.mak.

-include config.mak

CC       ?= cc
PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
# One spelling per build directory: the dependency files (-MMD) name objects
# as make saw them, so a tree built once with BUILD=$PWD/build (the install
# test does) and once with BUILD=build would miss header changes.
override BUILD := $(patsubst $(CURDIR)/%,%,$(BUILD))
SANITIZE ?=
VERSION  := $(shell sed -n 's/^#define SOCKIT_VERSION "\(.*\)"/\1/p' include/sockit/version.h)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
# liburing: the loop's io_uring path (src/lib/loop/loop_uring.c); threads:
# the loop's workers (src/lib/loop/loop_work.c); OpenSSL 3: TLS
# (src/lib/tls/, src/lib/stream/conn_tls.c); libm: sqrt for ping's mdev;
# zlib: gzip bodies for the HTTP client (src/lib/http/http_gunzip.c).
LDLIBS   := -lssl -lcrypto -luring -pthread -lm -lz
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

# libsockit's layers, lowest first (src/lib/<layer>/, STYLE.md "Layout"): a
# file includes headers of its own layer and those below, never above, and
# reaches upward only through callbacks. `make check-layers` checks it.
LAYERS   := base ip net loop tls stream probe http dns
LIB_SRC  := $(foreach l,$(LAYERS),$(sort $(wildcard src/lib/$(l)/*.c)))
LIB_HDR  := $(foreach l,$(LAYERS),$(wildcard src/lib/$(l)/*.h))
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

.PHONY: all run test check check-layers check-errors check-symbols unit integration asan valgrind bench fuzz install uninstall \
	clean help deps-build deps-test deps-browser

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

# Library files name internal headers by layer: "loop/loop_internal.h".
$(BUILD)/src/lib/%.o: src/lib/%.c $(FLAGS_FILE) | deps-build
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -Isrc/lib -MMD -MP -c -o $@ $<

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

# PORTS='UDP TCP HTTP' moves the demo off ports that are taken.
run: $(BIN)
	@PORTS='$(PORTS)' scripts/demo.sh $(BIN)

test: check unit integration

# Checks of the tree itself, first in `make test`:
#   check-layers  libsockit reads bottom-up (scripts/check_layers.py): no
#                 library file or public header includes a header of a layer
#                 above its own; no file uses (nm on the objects) a function
#                 of a layer above; no two files depend on each other, in a
#                 layer or across layers, directly or in a longer cycle; one
#                 internal header per layer, <layer>/<layer>_internal.h
#   check-errors  every SK_E* code that a header, source file, comment or doc
#                 names is defined in include/sockit/err.h, and nowhere else;
#                 err.c's one table gives each sockit code its text and name
#                 (scripts/check_errors.sh)
#   check-symbols every external symbol of libsockit.a starts with sk_ (public)
#                 or sk__ (internal), so a program can name its own functions
#                 freely (scripts/check_symbols.sh, nm on the archive)
check: check-layers check-errors check-symbols

check-layers: $(LIB)
	@$(PYTHON) scripts/check_layers.py "$(LAYERS)" $(BUILD)/src/lib

check-errors:
	@sh scripts/check_errors.sh

check-symbols: $(LIB)
	@sh scripts/check_symbols.sh $(LIB)

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

# libFuzzer, one target per tests/fuzz/fuzz_<name>.c: http_parse (requests,
# chunked bodies), http_response (responses and chunked bodies as the
# client reads them), dns_msg and dns_zone (DNS messages, zone files), probe
# (what ping, arp and ifaces read: ICMP replies, ARP packets, netlink
# attributes). clang compiles the library sources into each fuzzer (never
# the gcc-built libsockit.a), which then runs on a fresh copy of its seed
# corpus (tests/fuzz/corpus for http_parse, tests/fuzz/corpus_<name> for the
# others); FUZZ_SECS is shared out between the targets. A crash, leak,
# sanitizer report or input slower than 10 s fails the make; the input that
# did it is left in $(BUILD)/fuzz/crash-* (rerun: $(BUILD)/fuzz/fuzz_<name> FILE).
FUZZ_SECS ?= 60
FUZZ_NAMES := http_parse http_response dns_msg dns_zone probe
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_EACH = $(shell expr $(FUZZ_SECS) / $(words $(FUZZ_NAMES)) + 1)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Isrc/lib -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(LIB_HDR) $(wildcard include/sockit/*.h)
	@scripts/deps.sh fuzz
	@mkdir -p $(@D)
	$(call say,FUZZCC,$@)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for n in $(FUZZ_NAMES); do \
		corpus=tests/fuzz/corpus; [ $$n = http_parse ] || corpus=tests/fuzz/corpus_$$n; \
		echo "== fuzz_$$n ($$corpus, $(FUZZ_EACH) s)"; \
		rm -rf $(BUILD)/fuzz/corpus_$$n && mkdir -p $(BUILD)/fuzz/corpus_$$n; \
		cp $$corpus/* $(BUILD)/fuzz/corpus_$$n/; \
		$(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_EACH) -max_len=20000 -timeout=10 \
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
	@echo 'targets: all run test check check-layers check-errors check-symbols unit integration asan'
	@echo '         valgrind bench fuzz install uninstall clean'
	@echo 'options: V=1 (show commands) CC=clang PREFIX=/usr DESTDIR=/tmp/stage FUZZ_SECS=60'
	@echo '         PORTS="7853 8999 8080" (make run: the UDP, TCP and HTTP ports)'

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(EXAMPLE_BIN:=.d) $(TOOL_BIN:=.d)
