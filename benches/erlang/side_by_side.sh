#!/usr/bin/env bash
# Wall-clock ns per operation for ring, pingpong and spawn_exit: Erlang (`erl +S 1`, timed
# inside the VM) and moonhost (`moonhost run`, whole run minus a run at size 1 for start-up)
# alternately in one run, so machine load hits both alike. BIN picks the moonhost binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/moonhost}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
erlc -o "$out" benches/erlang/bench.erl
wall() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $((t1 - t0)); }
mh() { # app size [args before size]
  local app=$1 n=$2; shift 2
  local a b
  a=$(wall "$BIN" run "benches/apps/$app" "bench.$app:main" "$@" 1)
  b=$(wall "$BIN" run "benches/apps/$app" "bench.$app:main" "$@" "$n")
  echo "$app $(( (b - a) / n ))"
}
printf '| workload | Erlang ns/op | moonhost ns/op | ratio |\n|---|---|---|---|\n'
for w in "ring 1000000 1000" "pingpong 1000000" "spawn_exit 100000"; do
  read -r name n pre <<<"$w"
  if [ -n "${pre:-}" ]; then ea="$pre, $n"; else ea="$n"; fi
  e=$(erl +S 1 -noshell -pa "$out" -eval "bench:main([$name, $ea])" -s init stop | awk '{print $2}')
  # shellcheck disable=SC2086
  m=$(mh "$name" "$n" ${pre:-} | awk '{print $2}')
  printf '| %s | %.0f | %s | %s |\n' "$name" "$e" "$m" "$(awk -v a="$m" -v b="$e" 'BEGIN{printf "%.1fx", a/b}')"
done
