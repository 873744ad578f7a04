# Grove - top-level build.
#
# Layout (README "Source code layout"): base/ crdt/ storage/ gossip/{secure,
# member,ae}/ node/ make libgrove (static + shared); include/grove/ holds the
# public headers.  Files named *_main.c are program entry points and stay out
# of the library.  Programs: bin/groved (node/groved_main.c), bin/grove
# (tools/*.c), bin/grove-sim (tests/sim/*.c on the tests' simulated network
# tests/util_netsim.c, `make sim`).
# Tests: every tests/test_*.c is one cmocka binary; tests/util_*.c are linked
# into each.  tests/proc/test_*.sh drive real processes.  Benchmarks:
# tests/bench/bench_*.c.  Fuzz targets: tests/fuzz/fuzz_*.c (libFuzzer).
#
# Flags: the required ones (GROVE_CFLAGS) are fixed; CFLAGS, CPPFLAGS and
# LDFLAGS from the command line or environment are added after them, so
# `make CFLAGS=-O0` only changes the optimisation.  SAN=1 adds ASan+UBSan,
# SAN=fuzz builds for libFuzzer (clang).
#
# Public targets first install missing Debian packages (make deps, which
# needs root only when something is missing), then re-enter make with
# GROVE_DEPS_OK=1.  `make GROVE_DEPS_OK=1 TARGET` skips that step.

PUBLIC_TARGETS := all test unit test-asan test-proc run stop bench fuzz soak lib programs sim \
	man install

# Install locations: `make install PREFIX=/opt/grove DESTDIR=/tmp/stage`.
# DESTDIR is prepended to every path (staging, packaging); PREFIX is where
# the files will live and what grove.pc names.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# systemd reads /usr/local/lib/systemd/system too (systemd.unit(5)).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install
# One version: GROVE_VERSION in node/daemon.h (groved --version, grove.pc,
# the shared library's file name).  The soname changes with the ABI only.
VERSION := $(shell sed -n 's/^\#define GROVE_VERSION "\(.*\)"/\1/p' node/daemon.h)
SONAME := libgrove.so.0
MAN_PAGES := man1/grove.1 man8/groved.8

# uninstall removes exactly what install wrote (and include/grove/ when
# empty); it needs no packages and no build.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,groved grove)
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libgrove.a libgrove.so $(SONAME) libgrove.so.$(VERSION))
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/grove/,$(notdir $(wildcard include/grove/*.h)))
	rmdir $(DESTDIR)$(INCLUDEDIR)/grove 2>/dev/null || true
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/grove.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/,$(MAN_PAGES))
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/groved.service

ifndef GROVE_DEPS_OK

.DEFAULT_GOAL := all
$(PUBLIC_TARGETS): deps
	@$(MAKE) --no-print-directory GROVE_DEPS_OK=1 $@

deps:
	@bash tools/deps.sh

clean:
	rm -rf build build-asan build-fuzz bin

.PHONY: $(PUBLIC_TARGETS) deps clean uninstall

else

CC ?= cc
BUILD ?= build
SAN ?=
CFLAGS ?= -O2 -g
PKGS := libuv libsodium msgpack openssl libmicrohttpd
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lleveldb -lpthread -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

GROVE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -I. -Iinclude -I$(BUILD)/gen \
	$(shell pkg-config --cflags $(PKGS) cmocka)
ifeq ($(SAN),1)
GROVE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
GROVE_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
endif
ALL_CFLAGS = $(GROVE_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(LDSAN)

LIB_SRC := $(sort $(wildcard base/*.c crdt/*.c storage/*.c gossip/*.c gossip/*/*.c) \
	$(filter-out %_main.c,$(wildcard node/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(sort $(filter-out %_main.c,$(wildcard tools/*.c)))
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_UTIL_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/util_*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
SIM_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/sim/*.c))
LIBA := $(BUILD)/libgrove.a
LIBSO := $(BUILD)/$(SONAME)

.DEFAULT_GOAL := all
all: lib programs man $(TESTS)

lib: $(LIBA) $(LIBSO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The status page is compiled in: node/status.html as byte values.
$(BUILD)/gen/status_html.inc: node/status.html
	@mkdir -p $(dir $@)
	od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/node/status_page.o: $(BUILD)/gen/status_html.inc

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(PKG_LIBS) $(ALL_LDFLAGS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_UTIL_OBJ) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS) $(ALL_LDFLAGS)

# test_sim drives the simulator: it links the simulator's objects but its
# program (sim_main.o).
SIM_TEST_OBJ := $(filter-out %/sim_main.o,$(SIM_OBJ))
$(BUILD)/tests/test_sim: $(BUILD)/obj/tests/test_sim.o $(SIM_TEST_OBJ) $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(SIM_TEST_OBJ) $(TEST_UTIL_OBJ) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS) $(ALL_LDFLAGS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_UTIL_OBJ) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS) $(ALL_LDFLAGS)

# Fuzz targets link tests/util_keys.c (deterministic identities; the other
# tests/util_*.c need cmocka).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/util_keys.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(ALL_LDFLAGS)

PROGRAMS := bin/groved bin/grove
bin/groved: $(BUILD)/obj/node/groved_main.o $(LIBA)
	@mkdir -p bin
	$(CC) -o $@ $^ $(PKG_LIBS) $(ALL_LDFLAGS)
bin/grove: $(BUILD)/obj/tools/grove_main.o $(TOOL_OBJ) $(LIBA)
	@mkdir -p bin
	$(CC) -o $@ $^ $(PKG_LIBS) $(ALL_LDFLAGS)
programs: $(PROGRAMS)

# Man pages: each program prints its own from the tables behind --help
# (`groved --man`, `grove --man`), so they cannot drift.
$(BUILD)/man/man8/groved.8: bin/groved
	@mkdir -p $(dir $@)
	$< --man >$@.tmp && mv $@.tmp $@
$(BUILD)/man/man1/grove.1: bin/grove
	@mkdir -p $(dir $@)
	$< --man >$@.tmp && mv $@.tmp $@
man: $(addprefix $(BUILD)/man/,$(MAN_PAGES))

# grove.pc is written at install time from grove.pc.in for this PREFIX
# (paths under PREFIX written as ${prefix}/...); a staged tree is read with
# PKG_CONFIG_SYSROOT_DIR=$(DESTDIR) (tests/proc/test_install.sh).  ldconfig
# runs only for a real install as root (DESTDIR empty).
pc_path = $(patsubst $(PREFIX)%,$${prefix}%,$(1))
install: lib programs man
	$(INSTALL) -d $(addprefix $(DESTDIR),$(BINDIR) $(LIBDIR) $(INCLUDEDIR)/grove $(PKGCONFIGDIR) \
		$(MANDIR)/man1 $(MANDIR)/man8 $(SYSTEMDUNITDIR))
	$(INSTALL) -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libgrove.so.$(VERSION)
	ln -sf libgrove.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libgrove.so
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi
	$(INSTALL) -m 644 include/grove/*.h $(DESTDIR)$(INCLUDEDIR)/grove/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_path,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call pc_path,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
		grove.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/grove.pc
	$(INSTALL) -m 644 $(BUILD)/man/man1/grove.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(BUILD)/man/man8/groved.8 $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@BINDIR@|$(BINDIR)|g' tools/groved.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/groved.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/groved.service

SIM_OUT ?= bin/grove-sim
$(SIM_OUT): $(SIM_OBJ) $(BUILD)/obj/tests/util_netsim.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(PKG_LIBS) $(ALL_LDFLAGS)
sim: $(SIM_OUT)

# unit: every cmocka binary; test-asan: the same under ASan+UBSan;
# test-proc: real-process tests; test: all three.
# Unit programs run GROVE_TEST_JOBS at once (default: the core count), the
# longest first so the others fill in beside them.
GROVE_TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SLOW_TESTS := $(filter %/test_sim %/test_ae_cluster %/test_db_commit %/test_db_coll %/test_crdt_prop %/test_db,$(TESTS))
unit: $(TESTS)
	@GROVE_TEST_JOBS=$(GROVE_TEST_JOBS) bash tests/run_tests.sh unit $(SLOW_TESTS) $(filter-out $(SLOW_TESTS),$(TESTS))

test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit

# Real-process tests: GROVE_TEST_JOBS at once, each in its own network
# namespace when root (tests/run_tests.sh), the longest first.
PROC_TESTS := $(sort $(wildcard tests/proc/test_*.sh))
SLOW_PROC := $(filter %/test_cluster_crash.sh %/test_crdt_rules.sh %/test_sim.sh \
	%/test_readme_cluster.sh %/test_cluster_loss.sh %/test_cluster_partition.sh,$(PROC_TESTS))
test-proc: programs
	@GROVE_TEST_JOBS=$(GROVE_TEST_JOBS) GROVE_TEST_ISOLATE=netns bash tests/run_tests.sh proc \
		$(SLOW_PROC) $(filter-out $(SLOW_PROC),$(PROC_TESTS))

test: test-proc unit test-asan

bench: $(BENCHES) programs
	@bash tests/run_tests.sh bench $(BENCHES) $(sort $(wildcard tests/bench/bench_*.sh))

# libFuzzer: clang, library rebuilt in build-fuzz; FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
ifeq ($(SAN),fuzz)
fuzz-build: $(FUZZERS)
else
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz SAN=fuzz CC=clang CFLAGS="-O1 -g" fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(notdir $(FUZZERS))
endif

soak: programs
	@bash tests/run_tests.sh soak $(sort $(wildcard tests/soak/soak_*.sh))

run: programs
	@bash tools/run_demo.sh

stop:
	@bash tools/run_demo.sh stop

# every object's header dependencies (library, programs, tests, benchmarks)
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY:

.PHONY: $(PUBLIC_TARGETS) fuzz-build uninstall
endif
