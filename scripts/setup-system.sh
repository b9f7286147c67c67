#!/usr/bin/env bash
# Installs the system packages the integration tests, demo and benchmarks use (Debian, as root).
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || need+=(iproute2)
command -v ss >/dev/null || need+=(iproute2)
command -v netstat >/dev/null || need+=(net-tools)
command -v iperf3 >/dev/null || need+=(iperf3)     # npm run bench
command -v python3 >/dev/null || need+=(python3)   # npm run bench: scripts/bench/wan-relay.py
command -v nft >/dev/null || need+=(nftables)     # test/transport-quic-deployed.test.ts: UDP dropped in a namespace
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "setup: apt-get install ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
