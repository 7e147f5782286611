#!/usr/bin/env bash
# Loopback HTTP benchmark: a bare libmicrohttpd hello-world (the ceiling of our stack) against
# cardshop, driven by wrk. Prints one table row per scenario: req/s, p99, ratio to the ceiling.
# Usage: bench/run.sh   (or `make bench`). Needs build/cardshop and wrk (scripts/deps.sh bench).
# Knobs: BENCH_SECONDS (5), BENCH_THREADS (2), BENCH_CONNECTIONS (64), CARDSHOP_BIN,
#        BENCH_KEEP=1 keeps the temp dir (config, database, server logs) for a look afterwards.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR="$REPO/bench"
CARDSHOP=${CARDSHOP_BIN:-$REPO/build/cardshop}
HELLO="$REPO/build/bench/hello"
DURATION=${BENCH_SECONDS:-5}
WRK_THREADS=${BENCH_THREADS:-2}
WRK_CONNS=${BENCH_CONNECTIONS:-64}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cardshop-bench.XXXXXX")
SERVER_PIDS=()
ROWS=()        # "name|req/s|p99|notes", printed by print_table
CEILING_RPS="" # req/s of the hello server, measured first in this run
CEILING_P99="" # and its p99
VERDICTS=()    # "target|measured|met or NOT met"
MISSED=0

die() {
	echo "bench: $*" >&2
	exit 1
}

# ---- servers ------------------------------------------------------------------------------------

stop_servers() {
	local pid i
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do # up to 5 s of graceful shutdown, then SIGKILL
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}

cleanup() {
	stop_servers
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	else
		shuf -i 20000-60999 -n 1
	fi
}

# http_status PORT PATH: prints the HTTP status code of a GET, or fails if nothing answers.
http_status() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1"
		printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
		read -r line <&3 # "HTTP/1.1 200 OK"
		line=${line#* }
		echo "${line%% *}"
	) 2>/dev/null
}

# wait_ready PID PORT PATH LOG: waits (10 s at most) for a 200 on PATH while PID is alive.
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$1" 2>/dev/null || { tail -n 20 "$4" >&2; die "server on port $2 exited"; }
		[ "$(http_status "$2" "$3" || true)" = 200 ] && return 0
		sleep 0.1
	done
	tail -n 20 "$4" >&2
	die "server on port $2 did not answer 200 on $3 within 10 s"
}

build_hello() {
	mkdir -p "$(dirname "$HELLO")"
	# shellcheck disable=SC2046 # pkg-config output is meant to be split
	cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wpointer-arith -Wcast-qual -O2 -o "$HELLO" "$BENCH_DIR/hello.c" \
		$(pkg-config --cflags --libs libmicrohttpd)
}

start_hello() {
	HELLO_PORT=$(free_port)
	"$HELLO" "$HELLO_PORT" >"$TMP/hello.log" 2>&1 &
	SERVER_PIDS+=($!)
	wait_ready "$!" "$HELLO_PORT" / "$TMP/hello.log"
}

# All of cardshop's traffic here comes from 127.0.0.1, so the per-IP connection limit is raised
# to the wrk connection count (the default, 64, would refuse connections beyond it).
write_config() {
	CFG="$TMP/cardshop.ini"
	cat >"$CFG" <<-EOF
		[server]
		listen = 127.0.0.1
		port = $SHOP_PORT
		threads = ${BENCH_SERVER_THREADS:-0}
		base_url = http://127.0.0.1:$SHOP_PORT
		static_dir = $REPO/static
		log_level = warn
		per_ip_connections = $((WRK_CONNS > 64 ? WRK_CONNS : 64))

		rate_limit = 1000000
		max_inflight = 100000

		[database]
		path = $TMP/cardshop.db

		[security]
		secret_file = $TMP/secret.key
		challenge = off

		[shop]
		# every bench client is 127.0.0.1: the hoarding cap would refuse all but two
		pending_per_client = 1000000

		[payment.epay]
		enabled = true
		api_url = http://127.0.0.1:9/
		pid = 1001
		key = bench-epay-key
	EOF
}

start_cardshop() {
	SHOP_PORT=$(free_port)
	SHOP="http://127.0.0.1:$SHOP_PORT"
	write_config
	"$CARDSHOP" --config "$CFG" migrate >"$TMP/migrate.log" 2>&1 ||
		{ cat "$TMP/migrate.log" >&2; die "cardshop migrate failed"; }
	"$CARDSHOP" --config "$CFG" serve >"$TMP/cardshop.log" 2>&1 &
	SERVER_PIDS+=($!)
	SHOP_PID=$!
	wait_ready "$!" "$SHOP_PORT" /healthz "$TMP/cardshop.log"
}

# ---- scenarios ----------------------------------------------------------------------------------

# wrk_field FILE: extracts "req/s|p99|notes" from one wrk --latency report.
wrk_field() {
	awk '
		/^Requests\/sec:/ { rps = $2 }
		$1 == "99%" { p99 = $2 }
		/Non-2xx or 3xx responses:/ { notes = notes "non-2xx " $NF "; " }
		/Socket errors:/ { sub(/.*Socket errors: /, ""); notes = notes "socket errors " $0 "; " }
		END { sub(/; $/, "", notes); printf "%s|%s|%s\n", rps, p99, notes }
	' "$1"
}

# wrk_scenario NAME URL [LUA_SCRIPT]: one wrk run against URL; adds a row to the table.
# The first scenario run is taken as the ceiling the ratio column divides by.
wrk_scenario() {
	local name=$1 url=$2 out="$TMP/wrk-${1//[^A-Za-z0-9_.-]/_}.txt"
	local args=(-t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --latency)
	[ $# -ge 3 ] && args+=(-s "$3")
	echo "bench: $name: wrk ${args[*]} $url" >&2
	wrk "${args[@]}" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $name"; }
	local row
	row=$(wrk_field "$out")
	[ -n "${row%%|*}" ] || { cat "$out" >&2; die "no Requests/sec in wrk output for $name"; }
	if [ -z "$CEILING_RPS" ]; then
		CEILING_RPS=${row%%|*}
		CEILING_P99=$(echo "$row" | cut -d'|' -f2)
	fi
	ROWS+=("$name|$row")
}

# timed_step NAME COUNT CMD...: times a one-off command that processes COUNT items (e.g. a key
# import) and adds a row with items/s in the req/s column, the elapsed time in the notes.
timed_step() {
	local name=$1 count=$2 start end
	shift 2
	echo "bench: $name: $*" >&2
	start=$(date +%s.%N)
	"$@" >"$TMP/step-${name//[^A-Za-z0-9_.-]/_}.log" 2>&1 || die "$name failed: $*"
	end=$(date +%s.%N)
	ROWS+=("$(awk -v n="$name" -v c="$count" -v s="$start" -v e="$end" \
		'BEGIN { printf "%s|%.2f||%d items in %.3f s (no ratio)", n, c / (e - s), c, e - s }')")
}

print_table() {
	[ -z "${PURCHASE_RATIO:-}" ] || ROWS+=("purchase / claim|$PURCHASE_RATIO||full purchases per second vs bare claim transactions")
	printf '\n%-24s %12s %10s %9s  %s\n' scenario req/s p99 vs-hello notes
	local row
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name rps p99 notes <<<"$row"
		local ratio=-
		if [ -n "$p99" ] && [ -n "$CEILING_RPS" ]; then
			ratio=$(awk -v a="$rps" -v b="$CEILING_RPS" 'BEGIN { printf "%.2fx", a / b }')
		fi
		printf '%-24s %12s %10s %9s  %s\n' "$name" "$rps" "${p99:--}" "$ratio" "$notes"
	done
	printf '\n(wrk -t%s -c%s -d%ss on loopback, %s cores; vs-hello = req/s / hello req/s)\n' \
		"$WRK_THREADS" "$WRK_CONNS" "$DURATION" "$(nproc)"
}

# ms_of "5.45ms" / "1.02s" / "850.00us": the time in milliseconds.
ms_of() {
	awk -v t="$1" 'BEGIN { v = t + 0; if (t ~ /us$/) v /= 1000; else if (t ~ /[0-9]s$/ && t !~ /ms$/) v *= 1000; printf "%.3f", v }'
}

# target NAME MEASURED OK(0|1): one line of the verdict table; a missed target fails the bench.
target() {
	local v="met"
	[ "$3" = 1 ] || { v="NOT met"; MISSED=$((MISSED + 1)); }
	VERDICTS+=("$1|$2|$v")
}

# The rows of a scenario by name: "req/s|p99|notes".
row_of() {
	local r
	for r in "${ROWS[@]}"; do
		[ "${r%%|*}" = "$1" ] && { echo "${r#*|}"; return; }
	done
}

# Issue 8's targets, each against the ceiling measured in this same run.
check_targets() {
	local r rps p99 ratio pr
	for name in "GET /api/products 100k" "GET /api/products/id 100k"; do
		r=$(row_of "$name")
		[ -n "$r" ] || continue
		rps=${r%%|*}
		p99=$(echo "$r" | cut -d'|' -f2)
		ratio=$(awk -v a="$rps" -v b="$CEILING_RPS" 'BEGIN { printf "%.2f", a / b }')
		target "$name: >= 0.85x hello req/s" "${ratio}x" \
			"$(awk -v x="$ratio" 'BEGIN { print (x >= 0.85) ? 1 : 0 }')"
		pr=$(awk -v a="$(ms_of "$p99")" -v b="$(ms_of "$CEILING_P99")" 'BEGIN { printf "%.2f", a / b }')
		target "$name: p99 <= 1.2x hello p99" "${pr}x ($p99 vs $CEILING_P99)" \
			"$(awk -v x="$pr" 'BEGIN { print (x <= 1.2) ? 1 : 0 }')"
	done
	if [ -n "${F_DELIVERED:-}" ]; then
		target "flash sale: exactly 100 delivered" "$F_DELIVERED" "$([ "$F_DELIVERED" = 100 ] && echo 1 || echo 0)"
		target "flash sale: 0 5xx" "$F_5XX" "$([ "$F_5XX" = 0 ] && echo 1 || echo 0)"
		target "flash sale: create p99 < 100 ms" "$F_P99" \
			"$(awk -v x="$(ms_of "$F_P99")" 'BEGIN { print (x < 100) ? 1 : 0 }')"
	fi
	if [ -n "${PURCHASE_RATIO:-}" ]; then
		target "purchases >= 2x the bare claim" "$PURCHASE_RATIO" \
			"$(awk -v x="${PURCHASE_RATIO%\%}" 'BEGIN { print (x >= 200) ? 1 : 0 }')"
	fi
	if [ -n "${IDLE_KB:-}" ]; then
		target "RSS at 256 idle connections, 200k keys <= 64 MiB" "$((IDLE_KB / 1024)) MiB" \
			"$([ "$IDLE_KB" -le $((64 * 1024)) ] && echo 1 || echo 0)"
	fi
	if [ -n "${SOAK_LAST:-}" ]; then
		target "soak: RSS flat (last <= first after 60 s + 16 MiB)" \
			"$((SOAK_FIRST / 1024)) -> $((SOAK_LAST / 1024)) MiB" \
			"$([ "$SOAK_LAST" -le $((SOAK_FIRST + 16 * 1024)) ] && echo 1 || echo 0)"
		target "soak: RSS <= 64 MiB" "$((SOAK_LAST / 1024)) MiB" \
			"$([ "$SOAK_LAST" -le $((64 * 1024)) ] && echo 1 || echo 0)"
	fi
	printf '\n%-58s %-26s %s\n' target measured verdict
	local v
	for v in "${VERDICTS[@]}"; do
		IFS='|' read -r a b c <<<"$v"
		printf '%-58s %-26s %s\n' "$a" "$b" "$c"
	done
	printf '\n%d of %d targets missed\n' "$MISSED" "${#VERDICTS[@]}"
}

# ---- main ---------------------------------------------------------------------------------------

command -v wrk >/dev/null 2>&1 || die "wrk not found (run: scripts/deps.sh bench)"
[ -x "$CARDSHOP" ] || die "$CARDSHOP not found (run: make build/cardshop)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
build_hello
start_hello
start_cardshop

wrk_scenario "hello (ceiling)" "http://127.0.0.1:$HELLO_PORT/" # must stay first: the ratio base
wrk_scenario "cardshop /healthz" "$SHOP/healthz"
wrk_scenario "cardshop / (static)" "$SHOP/"

# ---- hook: later scenarios go here --------------------------------------------------------------
# Each call adds a table row. Available: $SHOP (cardshop base URL), $CARDSHOP, $CFG (its config),
# $TMP (scratch dir), timed_step and wrk_scenario above.

# Admin session for the API calls below: cookie jar + CSRF token.
admin_setup() {
	echo "bench-password-123" | "$CARDSHOP" --config "$CFG" admin add bench >/dev/null 2>&1
	CSRF=$(curl -s -c "$TMP/jar" -H 'Content-Type: application/json' \
		-d '{"username":"bench","password":"bench-password-123"}' "$SHOP/api/admin/login" |
		sed -n 's/.*"csrf_token":"\([0-9a-f]*\)".*/\1/p')
	[ -n "$CSRF" ] || die "admin login failed"
	PRODUCT=$(curl -s -b "$TMP/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
		-d '{"name":"bench","price":100}' "$SHOP/api/admin/products" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	[ -n "$PRODUCT" ] || die "product creation failed"
}

upload_keys() {
	curl -sf -b "$TMP/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: text/plain' \
		--data-binary @"$1" "$SHOP/api/admin/products/$PRODUCT/keys"
}

build_shopbench() {
	local pkgs="libmicrohttpd sqlite3 openssl jansson libcurl inih libargon2"
	# shellcheck disable=SC2046
	cc -std=c17 -D_GNU_SOURCE -O2 -I"$REPO/include" -o "$REPO/build/bench/shopbench" \
		"$REPO/bench/shopbench.c" "$REPO/build/libcardshop.a" $(pkg-config --cflags --libs $pkgs) -pthread
}

admin_setup
build_shopbench
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "BENCH-%08d-%06x\n", i, (i * 7919) % 16777216 }' \
	>"$TMP/keys100k.txt"
timed_step "key import 100k" 100000 upload_keys "$TMP/keys100k.txt"
# The catalog with a deep stock, served from memory: its cost must not grow with the keys.
wrk_scenario "GET /api/products 100k" "$SHOP/api/products"
wrk_scenario "GET /api/products/id 100k" "$SHOP/api/products/$PRODUCT"
CLAIM=$("$REPO/build/bench/shopbench" claim "$TMP/claim.db" "$DURATION" 2>"$TMP/claim.log")
ROWS+=("sqlite claim tx (bare)|$CLAIM||one BEGIN IMMEDIATE..COMMIT per paid order (no ratio)")
PURCHASE=$("$REPO/build/bench/shopbench" purchase "$SHOP" 1001 bench-epay-key "$PRODUCT" \
	"${BENCH_PURCHASE_CLIENTS:-$WRK_CONNS}" "$DURATION")
IFS='|' read -r P_RPS P_P99 P_NOTES <<<"$PURCHASE"
ROWS+=("purchase (create+notify+view)|$P_RPS||p99 $P_P99; $P_NOTES (no ratio)")
PURCHASE_RPS=${PURCHASE%%|*}
PURCHASE_RATIO=$(awk -v a="$PURCHASE_RPS" -v b="$CLAIM" 'BEGIN { printf "%.0f%%", 100 * a / b }')
# Order creation alone: one durable commit per order, as in the bare claim, so this row shows
# what the group commit carries (the purchase above needs two commits and three requests).
CREATE=$("$REPO/build/bench/shopbench" create "$SHOP" "$PRODUCT" \
	"${BENCH_PURCHASE_CLIENTS:-$WRK_CONNS}" "$DURATION")
IFS='|' read -r C_RPS C_P99 C_NOTES <<<"$CREATE"
C_RATIO=$(awk -v a="$C_RPS" -v b="$CLAIM" 'BEGIN { printf "%.2fx", a / b }')
ROWS+=("order creation|$C_RPS||p99 $C_P99; $C_NOTES; $C_RATIO the bare claim (no target)")
# Flash sale: 2,000 buyers from distinct forwarded addresses (200 connecting at once) race for
# 100 keys; then the accepted orders are paid. Exactly 100 must be delivered, none 5xx.
FLASH_PRODUCT=$(curl -s -b "$TMP/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
	-d '{"name":"flash","price":100}' "$SHOP/api/admin/products" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
awk 'BEGIN { for (i = 0; i < 100; i++) printf "FLASH-%06d\n", i }' >"$TMP/flash.txt"
curl -sf -b "$TMP/jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: text/plain' \
	--data-binary @"$TMP/flash.txt" "$SHOP/api/admin/products/$FLASH_PRODUCT/keys" >/dev/null
FLASH=$("$REPO/build/bench/shopbench" flash "$SHOP" 1001 bench-epay-key "$FLASH_PRODUCT" 2000 200)
IFS='|' read -r F_OK F_SOLD F_5XX F_OTHER F_P99 F_DELIVERED <<<"$FLASH"
ROWS+=("flash sale 2000 for 100|$F_DELIVERED delivered||orders: $F_OK accepted, $F_SOLD sold out, $F_5XX 5xx, $F_OTHER other; create p99 $F_P99 (target: 100 delivered, 0 5xx, p99 < 100 ms)")
# 256 idle keep-alive connections with 200,000 keys in stock: what the server holds for them.
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "MORE-%08d-%06x\n", i, (i * 7907) % 16777216 }' \
	>"$TMP/keys100k-b.txt"
upload_keys "$TMP/keys100k-b.txt" >/dev/null
/usr/bin/python3 - "$SHOP_PORT" >"$TMP/idle.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
conns = []
for _ in range(256):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/products HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    s.recv(65536)
    conns.append(s)
print("open", len(conns), flush=True)
time.sleep(4)
PY
IDLE_PID=$!
for _ in $(seq 1 40); do grep -q open "$TMP/idle.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
IDLE_KB=$(awk '/^VmRSS/ { print $2 }' "/proc/$SHOP_PID/status")
# Where the resident memory is, for a look afterwards (BENCH_KEEP=1): the biggest mappings.
cp "/proc/$SHOP_PID/smaps" "$TMP/smaps-idle.txt" 2>/dev/null || true
wait "$IDLE_PID" 2>/dev/null || true
ROWS+=("RSS 256 idle, 200k keys|$((IDLE_KB / 1024)) MiB||VmRSS with 256 keep-alive connections open (target <= 64 MiB)")
# Memory after everything above (100k keys imported, thousands of orders, all worker threads).
RSS_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$SHOP_PID/status")
ROWS+=("cardshop peak RSS|$((RSS_KB / 1024)) MiB||VmHWM of the server after all scenarios (no ratio)")
# Soak: 16 clients buying, 32 connections reading the product page, a 30,000-key restock and
# four sign-ins every 30 s, for BENCH_SOAK_SECONDS (300; 0 skips it). RSS is sampled every 10 s:
# it must stay flat (the last sample within 16 MiB of the first one after the first minute).
soak() {
	local secs=$1 t=0 round=0 first="" last=0 max=0 kb anon side=()
	: >"$TMP/soak-rss.txt"
	"$REPO/build/bench/shopbench" purchase "$SHOP" 1001 bench-epay-key "$PRODUCT" 16 "$secs" \
		>"$TMP/soak-purchase.txt" 2>&1 &
	local buyers=$!
	wrk -t1 -c32 -d"${secs}s" --timeout 2s --latency "$SHOP/api/products/$PRODUCT" \
		>"$TMP/soak-wrk.txt" 2>&1 &
	local readers=$!
	while [ "$t" -lt "$secs" ]; do
		if [ $((t % 30)) -eq 0 ]; then
			round=$((round + 1))
			awk -v r="$round" 'BEGIN { for (i = 0; i < 30000; i++) printf "SOAK-%03d-%06d\n", r, i }' \
				>"$TMP/soak-keys.txt"
			upload_keys "$TMP/soak-keys.txt" >/dev/null &
			side+=($!)
			for _ in 1 2 3 4; do
				curl -s -o /dev/null -H 'Content-Type: application/json' \
					-d '{"username":"bench","password":"bench-password-123"}' \
					"$SHOP/api/admin/login" &
				side+=($!)
			done
		fi
		sleep 10
		t=$((t + 10))
		kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$SHOP_PID/status")
		anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$SHOP_PID/status")
		echo "$t $kb $anon" >>"$TMP/soak-rss.txt"
		[ "$t" -ge 60 ] && [ -z "$first" ] && first=$kb
		last=$kb
		[ "$kb" -gt "$max" ] && max=$kb
	done
	wait "$buyers" "$readers" "${side[@]}" 2>/dev/null || true
	local p r
	p=$(cat "$TMP/soak-purchase.txt")
	r=$(wrk_field "$TMP/soak-wrk.txt")
	ROWS+=("soak purchases|${p%%|*}||${secs} s, 16 clients, restock 30,000 keys + 4 sign-ins every 30 s (no ratio)")
	ROWS+=("soak reads /products/id|${r%%|*}||32 connections; p99 $(echo "$r" | cut -d'|' -f2); ${r##*|} (no ratio)")
	ROWS+=("soak RSS first/last/max|$((${first:-$last} / 1024)) / $((last / 1024)) / $((max / 1024)) MiB||samples every 10 s in soak-rss.txt (target: last <= first after 60 s + 16 MiB)")
	SOAK_FIRST=${first:-$last}
	SOAK_LAST=$last
}
if [ "${BENCH_SOAK_SECONDS:-300}" -gt 0 ]; then
	echo "bench: soak for ${BENCH_SOAK_SECONDS:-300} s" >&2
	soak "${BENCH_SOAK_SECONDS:-300}"
fi
# ---- end of hook --------------------------------------------------------------------------------

# The table and the verdicts, on the terminal and at the top of bench/results.md with the
# machine they were measured on (the earlier runs stay below).
write_results() {
	local file="$BENCH_DIR/results.md" old=""
	[ -f "$file" ] && old=$(sed '1,/^## Earlier runs/d' "$file" 2>/dev/null || true)
	[ -f "$file" ] && [ -z "$old" ] && old=$(cat "$file")
	{
		echo "# Bench results"
		echo
		echo "## Latest run: $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
		echo
		echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
			"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr);" \
			"load average before the run: $LOAD_BEFORE"
		echo
		echo '```'
		cat "$TMP/table.txt"
		echo '```'
		echo
		echo "## Earlier runs"
		echo
		echo "$old"
	} >"$file.tmp" && mv "$file.tmp" "$file"
}

{
	print_table
	check_targets
} | tee "$TMP/table.txt"
MISSED=$(sed -n 's/^\([0-9]*\) of [0-9]* targets missed$/\1/p' "$TMP/table.txt")
write_results
[ "${MISSED:-1}" -eq 0 ] || exit 1
