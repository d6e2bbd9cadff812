#!/usr/bin/env bash
# Erlang/OTP reference figures (one scheduler) for ring, pingpong and spawn_exit, sizes as
# in BENCH.md. Needs erlang-base (`apt-get install erlang-base`). Prints "<name> <ns/op>".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
erlc -o "$out" "$here/bench.erl"
for w in "ring, 1000, 1000000" "pingpong, 1000000" "spawn_exit, 100000"; do
  erl +S 1 -noshell -pa "$out" -eval "bench:main([$w])" -s init stop
done
