#!/usr/bin/env bash
# `node` on Node 24 (see node-runtime.sh): what the package.json scripts run their TypeScript entry points with.
set -euo pipefail
source "$(dirname "$0")/node-runtime.sh"
exec node "$@"
