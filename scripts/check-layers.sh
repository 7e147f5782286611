#!/usr/bin/env bash
# Checks the layering of docs/architecture.md: who may include what, where SQL may live, and
# that the domain (shop/) links without the jobs, web and gateway layers.
# Usage: scripts/check-layers.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
fail=0
bad() { echo "check-layers: $*" >&2; fail=1; }

if grep -rlE '#include "cardshop/jobs.h"|#include "\.\./jobs/' src/shop; then
  bad "src/shop/ must not include a jobs/ header (the outbox wakes jobs/ through a hook)"
fi
if grep -rl '#include "cardshop/db.h"' src/api src/http; then
  bad "src/api/ and src/http/ must not include cardshop/db.h"
fi
if grep -rl 'microhttpd.h' src include | grep -vE '^src/(http|api)/' ; then
  bad "only src/http/ and src/api/ may include <microhttpd.h>"
fi
if grep -rlE 'sqlite3\.h' include | grep -v '^include/cardshop/db.h'; then
  bad "only cardshop/db.h may pull in <sqlite3.h>"
fi
# SQL statements: a keyword pair in a string literal, outside shop/ and db/.
if grep -rnE '"[^"]*\b(SELECT [a-z*(]|INSERT INTO|DELETE FROM|UPDATE [a-z_]+ SET|CREATE TABLE)' src \
     | grep -vE '^src/(shop|db)/'; then
  bad "SQL outside src/shop/ and src/db/"
fi

# The link check: every object of shop/ with only what it may depend on. An undefined symbol
# (a call into jobs/, http/, api/ or pay/) fails the link.
objs=$(ls "$build"/obj/shop/*.o "$build"/obj/db/*.o "$build"/obj/sec/*.o \
          "$build"/obj/util.o "$build"/obj/log.o "$build"/obj/metrics.o "$build"/obj/config.o \
          "$build"/obj/kv.o "$build"/obj/migrations_gen.o)
main="$build/layers_main.c"
printf 'int main(void) { return 0; }\n' > "$main"
# shellcheck disable=SC2086
if ! ${CC:-cc} ${LAYERS_LDFLAGS:-} -o "$build/layers-shop" "$main" $objs $(pkg-config --libs sqlite3 openssl jansson inih libargon2) -pthread 2> "$build/layers.log"; then
  cat "$build/layers.log" >&2
  bad "src/shop/ does not link without jobs/, http/, api/ and pay/"
fi
[ "$fail" -eq 0 ] && echo "check-layers: ok (shop/ links alone; includes and SQL where they belong)"
exit "$fail"
