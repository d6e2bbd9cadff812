#!/usr/bin/env bash
# CPU instructions per operation, counted by callgrind (machine load does not move them).
#
# Each workload runs twice, at a small and a large size, under
# `valgrind --tool=callgrind`; the difference in instructions divided by the difference in
# operations is the cost of one operation (start-up and app loading cancel out).
#
#   bash benches/instructions.sh              # all workloads
#   bash benches/instructions.sh pingpong     # some of them
#   BIN=path/to/moonhost bash benches/instructions.sh   # measure another build
#   KEEP=dir bash benches/instructions.sh pingpong      # keep the callgrind outputs in dir
#                                       # (NAME.SMALL.out, NAME.LARGE.out) for callgrind_annotate
#
# Needs valgrind (`apt-get install valgrind`). Builds the release binary unless BIN is set.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${BIN:-}" ]; then
  cargo build --release -q
  BIN=target/release/moonhost
fi
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }

# name | args before the size | small size | large size | args after the size
WORKLOADS=(
  "pingpong||2000|12000|"
  "inbox_echo||2000|12000|"
  "inbox_table||2000|12000|"
  "pingpong_payload||2000|12000|"
  "payload_queued||2000|12000|"
  "ring|1000|20000|120000|"
  "spawn_exit||2000|12000|"
  "select||2000|12000|"
  "timer_arm||2000|12000|"
  "host_mailbox||2000|12000|"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

embedbench() { # the embedbench binary (built with the library BIN was built from)
  cargo bench --bench embedbench --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*embedbench[^"]*"' | tail -1 | cut -d'"' -f4
}

count() { # size app args... -> total instructions
  local out="$tmp/cg.out"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; out="$KEEP/$2.$1.out"; fi
  local cmd=("$BIN" run "benches/apps/$2" "bench.$2:main" "${@:3}")
  # The host mailbox is driven from Rust: embedbench's round trips alone.
  if [ "$2" = host_mailbox ]; then cmd=("$(embedbench)" --mailbox "$1"); fi
  # --fair-sched=yes: valgrind runs one thread at a time, and by default the main thread can
  # keep the lock for seconds, so whether the watchdog thread preempts a long slice (and
  # spawn_exit's children run while the parent spawns, reusing pooled coroutines) depended
  # on the machine's load: spawn_exit gave 25,460 or 31,130 per child for the same binary.
  valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$out" "${cmd[@]}" >/dev/null 2>"$tmp/err" \
    || { cat "$tmp/err" >&2; exit 1; }
  grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
}

printf '| workload | instructions per op | sizes |\n|---|---|---|\n'
for w in "${WORKLOADS[@]}"; do
  IFS='|' read -r name pre small large post <<<"$w"
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  # shellcheck disable=SC2086
  a=$(count "$small" "$name" $pre "$small" $post)
  # shellcheck disable=SC2086
  b=$(count "$large" "$name" $pre "$large" $post)
  per=$(( (b - a) / (large - small) ))
  printf '| %s | %s | %s, %s |\n' "$name" "$per" "$small" "$large"
done
