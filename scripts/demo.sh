#!/usr/bin/env bash
# `npm run demo`: port-linker against a throwaway local "remote" (network namespace + private sshd).
# Sets itself up on a fresh machine (apt packages as root, npm ci, build), cleans up on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo: needs root to create a network namespace and run a private sshd (try: sudo npm run demo)" >&2
  exit 1
fi
bash scripts/setup-system.sh
source scripts/node-runtime.sh
bash scripts/install-deps.sh
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
