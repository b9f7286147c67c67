#!/usr/bin/env bash
# Proves that the README's two commands work on a fresh machine: clones the committed HEAD into a scratch directory
# and runs `npm run demo` (until a mirrored port answers) and `npm test` there, with
#   - a scratch HOME and an empty npm cache (nothing from this user's set-up),
#   - a PATH of the standard directories only, with every program hidden that a package installed by hand put there:
#     installed packages that are neither in the fresh machine image's list (--image-list FILE, one package a line or
#     the workplace's "apt<TAB>name<TAB>version" rows) nor in the program list of scripts/setup-system.sh.
# As root (what the suite needs). With --faults it runs `npm run faults` there instead (issue 22: a fresh machine,
# under 30 minutes, every row passing); the JSON it wrote is copied to this checkout's bench/faults/.
# Usage: bash scripts/check-fresh.sh [--image-list FILE] [--keep] [--faults]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
image_list=/work/.library/env/packages/installed-python.txt
keep=false
faults=false
while [ $# -gt 0 ]; do
  case "$1" in
    --image-list) image_list=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    --faults) faults=true; shift ;;
    *) echo "check-fresh: unknown argument $1 (use --image-list FILE, --keep, --faults)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "check-fresh: run as root (the suite creates network namespaces)" >&2; exit 2; }

scratch=$(mktemp -d)
cleanup() { $keep && echo "check-fresh: kept $scratch" >&2 || rm -rf "$scratch"; }
trap cleanup EXIT
say() { echo "check-fresh: $*" >&2; }

git clone -q "$repo" "$scratch/repo"
say "cloned $(git -C "$repo" rev-parse --short HEAD) into $scratch/repo"
mkdir -p "$scratch/home" "$scratch/npm-cache" "$scratch/bin"

# The PATH: standard directories, minus programs of packages installed by hand
std_dirs=(/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin)
hidden_pkgs=()
if [ -r "$image_list" ]; then
  keep_pkgs=$( { awk -F'\t' 'NF >= 2 && $1 == "apt" { print $2 } NF == 1 && !/^#/ { print $1 }' "$image_list"
    sed -n "/<<'PROGRAMS'\$/,/^PROGRAMS\$/p" "$repo/scripts/setup-system.sh" | awk '!/^#/ && !/PROGRAMS/ { print $2 }'
  } | sort -u)
  mapfile -t hidden_pkgs < <(dpkg-query -W -f='${Package}\n' | sort -u | comm -23 - <(echo "$keep_pkgs"))
  say "hiding the programs of ${#hidden_pkgs[@]} package(s) not in the image list nor in the set-up list"
else
  say "no image list at $image_list: only non-standard PATH directories are hidden"
fi
hidden_files=$( [ ${#hidden_pkgs[@]} -eq 0 ] || dpkg-query -L "${hidden_pkgs[@]}" 2>/dev/null | grep -E '^/(usr/)?(local/)?s?bin/' || true)
for dir in "${std_dirs[@]}"; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*; do
    name=${f##*/}
    [ -x "$f" ] && [ ! -d "$f" ] && [ ! -e "$scratch/bin/$name" ] || continue
    grep -qxF "$f" <<<"$hidden_files" && continue
    ln -s "$f" "$scratch/bin/$name"
  done
done
[ -n "$hidden_files" ] && say "hidden: $(echo "$hidden_files" | xargs -n1 basename | sort -u | xargs | cut -c1-300)"

fresh_env=(env -i HOME="$scratch/home" PATH="$scratch/bin" npm_config_cache="$scratch/npm-cache" TERM=dumb
  LANG=C.UTF-8 CI="${CI:-}")
status=0

if $faults; then
  say "npm run faults (its output goes to $scratch/faults.out and to stderr)"
  cd "$scratch/repo"
  start=$(date +%s)
  if "${fresh_env[@]}" npm run faults 2>&1 | tee "$scratch/faults.out" >&2; then status=0; else status=1; fi
  cp "$scratch"/repo/bench/faults/*.json "$repo/bench/faults/" 2>/dev/null || true
  say "npm run faults: $([ $status = 0 ] && echo PASS || echo FAIL) in $(($(date +%s) - start)) s"
  exit $status
fi

say "1/2: npm run demo (until a mirrored port answers)"
cd "$scratch/repo"
"${fresh_env[@]}" setsid npm run --silent demo -- --json >"$scratch/demo.out" 2>"$scratch/demo.err" &
demo=$!
ok=false
for _ in $(seq 1 600); do
  if grep -q '"event":"forward_added".*"remote_port":8000' "$scratch/demo.out" 2>/dev/null; then
    if "${fresh_env[@]}" node -e 'fetch("http://127.0.0.1:8000/").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))'; then ok=true; fi
    break
  fi
  kill -0 "$demo" 2>/dev/null || break
  sleep 0.5
done
kill -TERM -- "-$demo" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 -- "-$demo" 2>/dev/null || break; sleep 0.2; done # the demo removes its remote
wait "$demo" 2>/dev/null || true
if $ok; then say "demo: PASS (localhost:8000 answered through port-linker)"; else
  say "demo: FAIL; its stderr ends with:"; tail -n 15 "$scratch/demo.err" >&2; status=1
fi

say "2/2: npm test"
if "${fresh_env[@]}" npm test >"$scratch/test.out" 2>&1; then
  say "npm test: PASS ($(grep -E '^# (tests|pass|fail|skipped) ' "$scratch/test.out" | xargs))"
else
  say "npm test: FAIL; its output ends with:"; tail -n 40 "$scratch/test.out" >&2; status=1
fi
[ $status = 0 ] && say "PASS: a clean clone runs both README commands" || say "FAIL"
exit $status
