#!/usr/bin/env bash
# The whole test suite, set-up included: `npm test` (what .ci/run calls).
#   --unit   only unit tests (no root, no sshd needed)
# Set-up on a fresh machine: installs OpenSSH/iproute2 with apt when missing (as root), npm install, build.
set -euo pipefail
cd "$(dirname "$0")/.."
unit_only=false
[ "${1:-}" = "--unit" ] && unit_only=true

if ! $unit_only; then
  bash scripts/setup-system.sh
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: installing dependencies (npm install)" >&2
  # npm install, not npm ci: npm 11 leaves other platforms' optional packages (biome, turbo binaries) out of the
  # lockfile and then `npm ci` refuses it as out of sync; install follows the lockfile all the same.
  npm install --no-fund --no-audit --loglevel=error
fi
echo "test: build, typecheck, lint" >&2
npm run --silent build
npm run --silent typecheck
npm run --silent lint
if ! $unit_only; then
  echo "test: building the linux-x64 agent executable (SEA) for its smoke tests" >&2
  npm run --silent build:agents -- --platforms linux-x64
fi

shopt -s globstar nullglob
unit=(packages/*/src/**/*.test.ts)
integration=(test/*.test.ts)
files=("${unit[@]}")
$unit_only || files+=("${integration[@]}")
echo "test: running ${#files[@]} test files" >&2
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
