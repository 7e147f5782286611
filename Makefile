# cardshop — plain Makefile. `make run` and `make test` are the two commands that matter.
PKGS     := libmicrohttpd sqlite3 openssl jansson libcurl inih libargon2
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

.PHONY: all deps run test unit api browser asan lint bench clean
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
	$(MAKE) --no-print-directory unit api browser

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

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
	clang-format --dry-run --Werror $(wildcard src/*.c src/*/*.c src/*/*.h include/cardshop/*.h tests/unit/*.c bench/*.c)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Iinclude src

bench:
	@scripts/deps.sh bench
	$(MAKE) --no-print-directory $(BUILD)/cardshop
	bench/run.sh

clean:
	rm -rf build build-asan

-include $(OBJ:.o=.d) $(BUILD)/obj/main.d
