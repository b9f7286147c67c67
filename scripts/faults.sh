#!/usr/bin/env bash
# `npm run faults [-- --quick] [--only id,id] [--runs N]`: the fault suite (scripts/faults/run.ts), set-up included
# like `npm test`: the programs of scripts/setup-system.sh with apt (as root), npm ci, build. As root (namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-runtime.sh
bash scripts/setup-system.sh
bash scripts/install-deps.sh
npm run --silent build
exec node --import tsx scripts/faults/run.ts "$@"
