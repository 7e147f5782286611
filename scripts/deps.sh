#!/usr/bin/env bash
# Installs the Debian packages cardshop needs. Usage: scripts/deps.sh [build|test|bench|lint]...
# Only missing packages are installed; `apt-get update` runs once, and only when needed.
set -euo pipefail

build_pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libssl-dev libjansson-dev
            libcurl4-openssl-dev libinih-dev libargon2-dev sqlite3)
test_pkgs=(check python3 python3-pytest python3-aiosmtpd python3-selenium chromium chromium-driver
           exim4-daemon-light openssl
           curl nginx prometheus)
bench_pkgs=(wrk)
lint_pkgs=(clang-format cppcheck)

want=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    test)  want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    lint)  want+=("${lint_pkgs[@]}") ;;
    *) echo "deps.sh: unknown group '$group' (build, test, bench, lint)" >&2; exit 2 ;;
  esac
done

# npm packages the fakes use (official gateway SDKs), from their committed lock files, into
# each fake's own node_modules (git-ignored). Needs node and npm (Debian: nodejs npm).
npm_dirs=(tests/fakes/stripe)
npm_install() {
  command -v npm >/dev/null 2>&1 || { echo "deps.sh: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
  local root; root="$(cd "$(dirname "$0")/.." && pwd)"
  for d in "${npm_dirs[@]}"; do
    if [ ! -f "$root/$d/node_modules/.package-lock.json" ] || \
       [ "$root/$d/package-lock.json" -nt "$root/$d/node_modules/.package-lock.json" ]; then
      echo "deps.sh: npm ci in $d" >&2
      (cd "$root/$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
}

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
want_npm=0
for group in "$@"; do [ "$group" = test ] && want_npm=1; done
if command -v npm >/dev/null 2>&1; then
  : # node from Debian or elsewhere: either serves
elif [ $want_npm -eq 1 ]; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  [ $want_npm -eq 1 ] && npm_install
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ $want_npm -eq 1 ] && npm_install
exit 0
