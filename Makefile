# usockmap build. `make` builds the library and CLI; `make check` runs every
# test (normal build, then ASan+UBSan, then short fuzz runs); `make demo`
# runs the main job on the bundled examples; `make bench` runs benchmarks.
#
# Variants: BUILD=build (default) or BUILD=build-asan SAN=1.

CC       ?= gcc
CLANG    ?= clang
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)

CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -fPIC \
	-D_GNU_SOURCE -Iinclude
ifeq ($(SAN),1)
  CC := $(CLANG)
  CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
  LDFLAGS_SAN := -fsanitize=address,undefined
else
  CFLAGS_OPT := -O2
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)
LDLIBS  := -lbpf -lelf -lz -ljansson -lpthread
LDFLAGS := $(LDFLAGS_SAN)

BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -I$(ARCH_INC) -Iinclude

LIB_SRC   := $(sort $(shell find src -name '*.c'))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A     := $(BUILD)/libusockmap.a
LIB_SO    := $(BUILD)/libusockmap.so

CLI_SRC   := $(sort $(wildcard tools/usockmap/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI       := $(BUILD)/usockmap

# BPF objects: test programs and examples.
BPF_SRC   := $(sort $(wildcard tests/bpf/*.bpf.c) $(shell find examples -name '*.bpf.c' 2>/dev/null))
BPF_OBJ   := $(BPF_SRC:%.bpf.c=$(BUILD)/bpf/%.bpf.o)

# Unit/e2e tests: every tests/<dir>/test_*.c is one cmocka binary, linked
# with tests/common/*.c.
TEST_SRC  := $(sort $(shell find tests -name 'test_*.c' -not -path 'tests/fuzz/*'))
TEST_BIN  := $(TEST_SRC:%.c=$(BUILD)/%)
TCOMMON_SRC := $(sort $(wildcard tests/common/*.c))
TCOMMON_OBJ := $(TCOMMON_SRC:%.c=$(BUILD)/%.o)

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)

FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all lib cli bpf tests deps check check-fast check-asan fuzz demo \
	bench install clean format

all: lib cli bpf

deps:
	@scripts/deps.sh

lib: $(LIB_A) $(LIB_SO)
cli: $(CLI)
bpf: $(BPF_OBJ)
tests: $(TEST_BIN) bpf cli

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libusockmap.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_OBJ) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB_A) $(LDLIBS)

$(BUILD)/bpf/%.bpf.o: %.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TCOMMON_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/common -MMD -MP -MF $@.d -o $@ $< \
		$(TCOMMON_OBJ) $(LIB_A) $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(LIB_A) $(LDFLAGS) $(LDLIBS)

# The whole suite: normal build, sanitizer build, short fuzz runs. The last
# line is the summary over all of them: "N passed, N failed, N skipped".
check: deps
	@scripts/check.sh

# One pass of the suite in $(BUILD) (used by scripts/check.sh).
check-fast: tests
	@BUILD=$(BUILD) tests/run.sh

fuzz:
	@scripts/fuzz.sh

demo: deps all
	@scripts/demo.sh $(BUILD)

bench: deps all $(BENCH_BIN)
	@BUILD=$(BUILD) bench/run.sh

install: lib cli
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/include/usockmap $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libusockmap.so.0
	ln -sf libusockmap.so.0 $(DESTDIR)$(PREFIX)/lib/libusockmap.so
	install -m 644 include/usockmap/*.h $(DESTDIR)$(PREFIX)/include/usockmap/
	install -d $(DESTDIR)$(PREFIX)/include/usockmap/compat/bpf
	install -m 644 include/usockmap/compat/bpf/*.h \
		$(DESTDIR)$(PREFIX)/include/usockmap/compat/bpf/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' usockmap.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/usockmap.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' usockmap-libbpf.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/usockmap-libbpf.pc

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(shell find include -name '*.h') \
		$(shell find src -name '*.h')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
