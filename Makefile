# Grove - top-level build.
#
# Layout: crdt/ storage/ gossip/ node/ make libgrove (static + shared);
# files named *_main.c are program entry points and stay out of the library.
# Programs: bin/groved (node/groved_main.c), bin/grove (tools/*.c).
# Tests: every tests/test_*.c is one cmocka binary; tests/util_*.c are linked
# into each.  tests/proc/test_*.sh drive real processes.  Benchmarks:
# tests/bench/bench_*.c.  Fuzz targets: tests/fuzz/fuzz_*.c (libFuzzer).
#
# Public targets first install missing Debian packages (make deps), then
# re-enter make with GROVE_DEPS_OK=1 so pkg-config runs after the install.

PUBLIC_TARGETS := all test unit test-asan test-proc run stop bench fuzz soak lib programs sim

ifndef GROVE_DEPS_OK

.DEFAULT_GOAL := all
$(PUBLIC_TARGETS): deps
	@$(MAKE) --no-print-directory GROVE_DEPS_OK=1 $@

deps:
	@bash tools/deps.sh

clean:
	rm -rf build build-asan build-fuzz bin

.PHONY: $(PUBLIC_TARGETS) deps clean

else

CC ?= cc
BUILD ?= build
SAN ?=
PKGS := libuv libsodium msgpack
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) cmocka)
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lleveldb -lpthread -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fPIC -I. $(PKG_CFLAGS)
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
endif

LIB_SRC := $(sort $(wildcard crdt/*.c storage/*.c gossip/*.c) $(filter-out %_main.c,$(wildcard node/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(sort $(filter-out %_main.c,$(wildcard tools/*.c)))
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_UTIL_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/util_*.c))
TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/bench_*.c))
LIBA := $(BUILD)/libgrove.a
LIBSO := $(BUILD)/libgrove.so

.DEFAULT_GOAL := all
all: lib programs $(TESTS)

lib: $(LIBA) $(LIBSO)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(PKG_LIBS) $(LDSAN)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_UTIL_OBJ) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS) $(LDSAN)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_UTIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_UTIL_OBJ) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS) $(LDSAN)

PROGRAMS :=
ifneq ($(wildcard node/groved_main.c),)
PROGRAMS += bin/groved
bin/groved: $(BUILD)/obj/node/groved_main.o $(LIBA)
	@mkdir -p bin
	$(CC) -o $@ $^ $(PKG_LIBS) $(LDSAN)
endif
ifneq ($(wildcard tools/grove_main.c),)
PROGRAMS += bin/grove
bin/grove: $(BUILD)/obj/tools/grove_main.o $(TOOL_OBJ) $(LIBA)
	@mkdir -p bin
	$(CC) -o $@ $^ $(PKG_LIBS) $(LDSAN)
endif
programs: $(PROGRAMS)

# unit: every cmocka binary; test-asan: the same under ASan+UBSan;
# test-proc: real-process tests; test: all three.
unit: $(TESTS)
	@bash tests/run_tests.sh unit $(TESTS)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit

test-proc: programs
	@bash tests/run_tests.sh proc $(sort $(wildcard tests/proc/test_*.sh))

test: test-proc unit test-asan

bench: $(BENCHES) programs
	@bash tests/run_tests.sh bench $(BENCHES) $(sort $(wildcard tests/bench/bench_*.sh))

# libFuzzer: clang, library rebuilt with coverage; FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(notdir $(basename $(FUZZ_SRC)))

soak: programs
	@bash tests/run_tests.sh soak $(sort $(wildcard tests/soak/soak_*.sh))

run: programs
	@bash tools/run_demo.sh

stop:
	@bash tools/run_demo.sh stop

sim: $(TESTS)

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TESTS:$(BUILD)/tests/%=$(BUILD)/obj/tests/%.d) $(TEST_UTIL_OBJ:.o=.d) $(BENCHES:$(BUILD)/bench/%=$(BUILD)/obj/tests/bench/%.d)
.SECONDARY:

.PHONY: $(PUBLIC_TARGETS)
endif
