#!/usr/bin/env bash
# `npm ci` when node_modules is absent or older than package-lock.json (a clean clone, or a pull that changed it).
set -euo pipefail
cd "$(dirname "$0")/.."
# Native addons (ssh2's crypto binding) build against the machine's Node headers when they match this Node: node-gyp
# would otherwise try to download them, which an offline machine cannot.
headers=/usr/include/node/node_version.h
if [ -z "${npm_config_nodedir:-}" ] && [ -r "$headers" ]; then
  v=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ { printf "%s%s", sep, $3; sep = "." }' "$headers")
  [ "v$v" = "$(node --version)" ] && export npm_config_nodedir=/usr
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing dependencies (npm ci)" >&2
  npm ci --no-fund --no-audit --loglevel=error
fi
