#!/usr/bin/env bash
# Installs every program the tests, benchmarks, demo and build scripts spawn (the list below) with apt.
# Idempotent and silent when everything is present; as non-root it names what is missing in one line and fails.
# test/fresh-machine.test.ts fails when a source spawns a program missing from this list. One line per program:
# program, Debian package, who uses it; paths for programs looked up outside PATH (/usr/sbin/sshd).
set -euo pipefail

list=$(cat <<'PROGRAMS'
# program        package          used by
/usr/sbin/sshd   openssh-server   test harness, bench, demo: the private sshd of each throwaway "remote"
ssh              openssh-client   bench: `ssh -N -L` measured side by side; test/doctor-config.test.ts: `ssh -G`; --data-path openssh (test/openssh-plane.test.ts)
ssh-keygen       openssh-client   test harness: host and client keys, known_hosts
scp              openssh-client   bench (cp row): `scp -p` measured side by side with `port-linker cp`
sftp             openssh-client   bench (cp row): `sftp -b` measured side by side with `port-linker cp`
ssh-agent        openssh-client   test/ssh-auth.test.ts
ssh-add          openssh-client   test/ssh-auth.test.ts
ip               iproute2         test harness, bench: network namespaces and veth links
ss               iproute2         test harness, bench: waits for a listener; scanner tests
netstat          net-tools        scanner tests (the netstat backend)
socat            socat            scanner tests, ProxyCommand test
curl             curl             registry test: curl $(port-linker lookup api --url)
iperf3           iperf3           bench: bulk throughput
nft              nftables         QUIC fallback test: UDP dropped in a namespace
python3          python3          bench: wan-relay.py; scanner tests: socket fixtures
strip            binutils         scripts/build-agents.mjs: linux-x64 agent executable
llvm-strip       llvm             scripts/build-agents.mjs: linux-arm64 agent executable
perf             linux-perf       scripts/bench/perf-tunnel.ts (profiling aid)
unshare          util-linux       agent tests: a network namespace of their own
setpriv          util-linux       scanner tests: a socket owned by another user; fault suite (security rows): the attacker; --data-path openssh: the ControlMaster's parent-death signal
mount            mount            deploy tests: a noexec mount on the remote
umount           mount            deploy tests
useradd          passwd           test harness: a second login user
userdel          passwd           test harness
chpasswd         passwd           ssh-auth tests: password login
sh               dash             remote commands in tests
/usr/lib/postgresql/15/bin/postgres postgresql-15 bench (workloads row): the SQL server in the test remote
/usr/lib/postgresql/15/bin/initdb   postgresql-15 bench (workloads row)
/usr/lib/postgresql/15/bin/pg_isready postgresql-15 bench (workloads row)
chown            coreutils        bench (workloads row): the postgres data dir to its user
pgbench          postgresql-client-15 bench (workloads row): select-only load
pg_isready       postgresql-client-15 bench (workloads row): readiness through the tunnel
redis-server     redis-server     bench (workloads row): the key-value server in the test remote
redis-benchmark  redis-tools      bench (workloads row): GET/SET load
redis-cli        redis-tools      bench (workloads row): readiness through the tunnel
nginx            nginx-light      bench (workloads row): the HTTP server in the test remote
wrk              wrk              bench (workloads row): HTTP load, keep-alive and a connection per request
chromium         chromium         dashboard browser test, dashboard bench (driven by playwright-core)
PROGRAMS
)

have() { case "$1" in /*) [ -x "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac; }

missing_programs=()
missing_packages=()
while read -r program package _; do
  case "$program" in '' | '#'*) continue ;; esac
  have "$program" && continue
  missing_programs+=("$program")
  case " ${missing_packages[*]-} " in *" $package "*) ;; *) missing_packages+=("$package") ;; esac
done <<<"$list"
[ ${#missing_programs[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "setup: missing ${missing_programs[*]}; run as root, or: sudo apt-get install -y ${missing_packages[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing_packages[*]} with apt (for ${missing_programs[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt_log=$(mktemp)
trap 'rm -f "$apt_log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"; } >"$apt_log" 2>&1; then
  echo "setup: apt-get install ${missing_packages[*]} failed: $(grep -E '^(E|Err):' "$apt_log" | tail -n 1)" >&2
  exit 1
fi
still=()
for program in "${missing_programs[@]}"; do have "$program" || still+=("$program"); done
if [ ${#still[@]} -gt 0 ]; then
  echo "setup: apt installed ${missing_packages[*]} but ${still[*]} is still not on PATH ($PATH)" >&2
  exit 1
fi
