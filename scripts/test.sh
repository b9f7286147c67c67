#!/usr/bin/env bash
# The whole test suite, set-up included: `npm test` (what .ci/run calls).
#   --unit   only unit tests (no root, no sshd needed)
# Set-up on a fresh machine: the programs listed in scripts/setup-system.sh with apt (as root), npm ci, build.
set -euo pipefail
cd "$(dirname "$0")/.."
machine_node=$(command -v node || true)
source scripts/node-runtime.sh
unit_only=false
[ "${1:-}" = "--unit" ] && unit_only=true

if ! $unit_only; then
  bash scripts/setup-system.sh
fi
bash scripts/install-deps.sh
echo "test: build, typecheck, lint" >&2
npm run --silent build
npm run --silent typecheck
npm run --silent lint
if ! $unit_only; then
  echo "test: building the linux-x64 agent executable (SEA) for its smoke tests" >&2
  npm run --silent build:agents -- --platforms linux-x64
  echo "test: building the linux-x64 standalone host executable (SEA) for its tests" >&2
  npm run --silent build:standalone -- --platforms linux-x64
fi

shopt -s globstar nullglob
unit=(packages/*/src/**/*.test.ts)
integration=(test/*.test.ts)
files=("${unit[@]}")
$unit_only || files+=("${integration[@]}")
# The unit tests also run on the machine's own Node when it is a supported one (22+) other than the runtime's.
if [ -n "$machine_node" ] && [ "$("$machine_node" --version)" != "$(node --version)" ] &&
  [ "$("$machine_node" -p 'process.versions.node.split(".")[0] >= 22')" = true ]; then
  echo "test: unit tests on the machine's Node $("$machine_node" --version)" >&2
  "$machine_node" --import tsx --test --test-concurrency=2 "${unit[@]}" >/dev/null
fi
echo "test: running ${#files[@]} test files on Node $(node --version)" >&2
exec node --import tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
