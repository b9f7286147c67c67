#!/usr/bin/env bash
# `npm run demo`: port-linker against a throwaway local "remote" (network namespace + private sshd).
# Sets itself up on a fresh machine (apt packages as root, npm install, build), cleans up on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo: needs root to create a network namespace and run a private sshd (try: sudo npm run demo)" >&2
  exit 1
fi
bash scripts/setup-system.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: npm 11 leaves other platforms' optional packages (biome, turbo binaries) out of the
  # lockfile and then `npm ci` refuses it as out of sync; install follows the lockfile all the same.
  npm install --no-fund --no-audit --loglevel=error
fi
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
