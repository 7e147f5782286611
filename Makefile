# cardshop — plain Makefile. `make run` and `make test` are the two commands that matter.
PKGS     := libmicrohttpd sqlite3 openssl jansson libcurl inih libargon2 libqrencode
CC       ?= cc
CSTD     := -std=c17 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual
OPT      ?= -O2 -g
CFLAGS   += $(CSTD) $(WARN) $(OPT) -Iinclude -Ibuild -pthread -fstack-protector-strong \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
BUILD    ?= build
PY       := /usr/bin/python3

SRC      := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
OBJ      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC)) $(BUILD)/obj/migrations_gen.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
MIGR     := $(sort $(wildcard migrations/*.sql))
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all deps run test unit layers api browser asan lint bench clean
all: deps $(BUILD)/cardshop

deps:
	@scripts/deps.sh build

$(BUILD)/cardshop: $(BUILD)/obj/main.o $(BUILD)/libcardshop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libcardshop.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/main.o: src/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DCARDSHOP_VERSION='"$(VERSION)"' -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Migrations are compiled into the binary, so one file is all a deployment needs.
$(BUILD)/migrations_gen.c: $(MIGR) scripts/embed-migrations.sh
	@mkdir -p $(BUILD)
	scripts/embed-migrations.sh $(MIGR) > $@

$(BUILD)/obj/migrations_gen.o: $(BUILD)/migrations_gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcardshop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libcardshop.a $(LDLIBS) $(shell pkg-config --libs check)

run: all
	$(BUILD)/cardshop demo

test:
	@scripts/deps.sh test
	$(MAKE) --no-print-directory $(BUILD)/cardshop $(UNIT_BIN)
	$(MAKE) --no-print-directory unit fuzz-replay layers api browser

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

# The layering of docs/architecture.md: includes, SQL only in shop/ and db/, shop/ links alone.
layers: $(BUILD)/cardshop
	CC="$(CC)" LAYERS_LDFLAGS="$(filter -fsanitize%,$(OPT) $(LDLIBS))" scripts/check-layers.sh $(BUILD)

api: $(BUILD)/cardshop
	CARDSHOP_BIN=$(abspath $(BUILD)/cardshop) $(PY) -m pytest -q -p no:cacheprovider tests/api

browser: $(BUILD)/cardshop
	CARDSHOP_BIN=$(abspath $(BUILD)/cardshop) $(PY) -m pytest -q -p no:cacheprovider tests/browser

asan:
	@scripts/deps.sh test
	# -Wno-format-truncation: GCC 12's sanitizer builds flag vsnprintf size probes falsely.
	$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-format-truncation" \
	  LDLIBS="$(LDLIBS) -fsanitize=address,undefined" test

lint:
	@scripts/deps.sh lint
	clang-format --dry-run --Werror $(wildcard src/*.c src/*/*.c src/*/*.h include/cardshop/*.h tests/unit/*.c bench/*.c fuzz/*.c)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Iinclude src

bench:
	@scripts/deps.sh bench
	$(MAKE) --no-print-directory $(BUILD)/cardshop
	bench/run.sh

clean:
	rm -rf build build-asan

-include $(OBJ:.o=.d) $(BUILD)/obj/main.d

# ---- fuzz: replay the corpus through each target (part of make test); `make fuzz` runs libFuzzer with clang
# Each fuzz/fuzz_<t>.c is a libFuzzer target; fuzz/replay.c turns it into a plain program that
# feeds it every file of fuzz/corpus/<t>/, so CI needs no clang. Crashing inputs go in the corpus.
FUZZ_TARGETS := kv url_decode utf8 money i64 epay addr cardkey xff cookie order_json challenge \
                admin_json mail_template alipay wechat stripe epusdt
FUZZ_BIN     := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_TIME    ?= 20
FUZZ_BUILD   ?= $(BUILD)/libfuzzer
CLANG        ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: fuzz fuzz-replay

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h $(BUILD)/libcardshop.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ fuzz/fuzz_$*.c fuzz/replay.c $(BUILD)/libcardshop.a $(LDLIBS)

fuzz-replay: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz/fuzz_$$t fuzz/corpus/$$t; done

# libFuzzer needs the library built with coverage too, hence its own build folder. New inputs
# go to $(FUZZ_BUILD)/corpus/<t>, crashes to $(FUZZ_BUILD)/crash-<t>-*; fuzz/corpus is read only.
fuzz:
	@if ! command -v $(CLANG) >/dev/null 2>&1; then \
	  echo "fuzz: FAILED: $(CLANG) not found (apt-get install clang); nothing was fuzzed. 'make fuzz-replay' replays the corpus with $(CC)" >&2; \
	  exit 1; fi; \
	set -e; \
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(CLANG) \
	  OPT="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/libcardshop.a; \
	mkdir -p $(FUZZ_BUILD)/fuzz; \
	for t in $(FUZZ_TARGETS); do \
	  $(CLANG) $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -Iinclude -pthread \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -o $(FUZZ_BUILD)/fuzz/lf_$$t \
	    fuzz/fuzz_$$t.c $(FUZZ_BUILD)/libcardshop.a $(LDLIBS); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_TIME)s"; \
	  $(FUZZ_BUILD)/fuzz/lf_$$t -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t; \
	done
