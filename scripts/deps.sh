#!/usr/bin/env bash
# Installs the Debian packages cardshop needs. Usage: scripts/deps.sh [build|test|bench|lint]...
# Only missing packages are installed; `apt-get update` runs once, and only when needed.
set -euo pipefail

build_pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libssl-dev libjansson-dev
            libcurl4-openssl-dev libinih-dev libargon2-dev libqrencode-dev sqlite3)
test_pkgs=(check python3 python3-pytest python3-aiosmtpd python3-selenium chromium chromium-driver
           exim4-daemon-light openssl
           curl nginx prometheus nodejs python3-cryptography zbar-tools)
bench_pkgs=(wrk)
lint_pkgs=(clang-format cppcheck)

want=()
npm_fakes=0
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    test)  want+=("${build_pkgs[@]}" "${test_pkgs[@]}"); npm_fakes=1 ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    lint)  want+=("${lint_pkgs[@]}") ;;
    *) echo "deps.sh: unknown group '$group' (build, test, bench, lint)" >&2; exit 2 ;;
  esac
done

# The gateway fakes' npm packages (the gateways' official SDKs), pinned by their committed
# package-lock.json files, into each folder's node_modules (git-ignored); only when missing or
# the lock changed.
npm_dirs=(tests/fakes tests/fakes/stripe)
install_npm_fakes() {
  local root d
  root="$(cd "$(dirname "$0")/.." && pwd)"
  if ! command -v npm >/dev/null 2>&1; then  # Debian's nodejs comes without npm
    [ "$(id -u)" -eq 0 ] || { echo "deps.sh: npm missing: apt-get install npm" >&2; exit 1; }
    apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
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

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$npm_fakes" -eq 1 ] && install_npm_fakes
exit 0
