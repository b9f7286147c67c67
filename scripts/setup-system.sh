#!/usr/bin/env bash
# Installs every program the tests, benchmarks, demo and build scripts spawn (scripts/system-packages.txt) with apt.
# Idempotent and silent when everything is present; as non-root it names what is missing in one line and fails.
set -euo pipefail
list="$(dirname "$0")/system-packages.txt"

have() { case "$1" in /*) [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }

missing_programs=()
missing_packages=()
while read -r program package _; do
  case "$program" in '' | '#'*) continue ;; esac
  have "$program" && continue
  missing_programs+=("$program")
  case " ${missing_packages[*]-} " in *" $package "*) ;; *) missing_packages+=("$package") ;; esac
done <"$list"
[ ${#missing_programs[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "setup: missing ${missing_programs[*]}; run as root, or: sudo apt-get install -y ${missing_packages[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing_packages[*]} with apt (for ${missing_programs[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"; } >"$apt_log" 2>&1; then
  echo "setup: apt-get install ${missing_packages[*]} failed: $(grep -E '^(E|Err):' "$apt_log" | tail -n 1)" >&2
  exit 1
fi
still=()
for program in "${missing_programs[@]}"; do have "$program" || still+=("$program"); done
if [ ${#still[@]} -gt 0 ]; then
  echo "setup: apt installed ${missing_packages[*]} but ${still[*]} is still not on PATH ($PATH)" >&2
  exit 1
fi
