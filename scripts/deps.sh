#!/usr/bin/env bash
# Installs the Debian packages cardshop needs. Usage: scripts/deps.sh [build|test|bench|lint]...
# Only missing packages are installed; `apt-get update` runs once, and only when needed.
set -euo pipefail

build_pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libssl-dev libjansson-dev
            libcurl4-openssl-dev libinih-dev libargon2-dev libqrencode-dev sqlite3)
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

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
