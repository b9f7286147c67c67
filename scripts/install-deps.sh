#!/usr/bin/env bash
# `npm ci` when node_modules is absent or older than package-lock.json (a clean clone, or a pull that changed it), and
# `npm rebuild` when it was installed by another Node than the one that runs now (native addons are per Node ABI).
# Runs on Node 24 (scripts/node-runtime.sh), whose headers it builds native addons against, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-runtime.sh
# A machine Node that is already 24+ has no fetched headers: use the system's when they match it (node-gyp would
# otherwise try to download them).
headers=/usr/include/node/node_version.h
if [ -z "${npm_config_nodedir:-}" ] && [ -r "$headers" ]; then
  v=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ { printf "%s%s", sep, $3; sep = "." }' "$headers")
  [ "v$v" = "$(node --version)" ] && export npm_config_nodedir=/usr
fi
marker=node_modules/.installed-by-node
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing dependencies (npm ci)" >&2
  npm ci --no-fund --no-audit --loglevel=error
  node --version >"$marker"
elif [ "$(cat "$marker" 2>/dev/null)" != "$(node --version)" ]; then
  echo "setup: node_modules was installed by another Node; rebuilding native addons for $(node --version)" >&2
  npm rebuild --loglevel=error >/dev/null
  node --version >"$marker"
fi
