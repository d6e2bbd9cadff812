#!/usr/bin/env bash
# SPEC §13.5: a crate that depends on moonhost gets the same determinism as the moonhost
# binary, without any setting of its own. This builds a tiny crate OUTSIDE the project
# directory (so the project's .cargo/config.toml is not read), depending on moonhost by path;
# it runs a seeded Lua process that prints the `pairs` order over 30 string keys, and fails
# unless several separate runs print the same order.
#
# Usage: bash .ci/dependent-determinism.sh   (from anywhere; about a minute when cached)
# The dependent's build cache lives in target/dependent-determinism so reruns are quick.
set -euo pipefail
project="$(cd "$(dirname "$0")/.." && pwd)"
runs=3

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/app"

cat >"$work/Cargo.toml" <<EOF
[package]
name = "moonhost-dependent-check"
version = "0.0.0"
edition = "2024"
publish = false

# Its own workspace: nothing above the temporary directory is consulted.
[workspace]

[dependencies]
moonhost = { path = "$project" }
EOF

cat >"$work/src/main.rs" <<'EOF'
use moonhost::{App, RunOutcome, Runtime};

fn main() {
    let dir = std::env::args().nth(1).expect("app dir argument");
    let app = App::load(&dir).expect("app loads");
    let mut rt = Runtime::builder().seed(1).build(&app).expect("runtime builds");
    match rt.run_entry("check:main", &[]).expect("root runs") {
        RunOutcome::Exited(_) => {}
        other => panic!("root did not end: {other:?}"),
    }
}
EOF

cat >"$work/app/_index.yaml" <<'EOF'
namespace: check
entries:
  - name: main
    kind: process.lua
    source: file://main.lua
    method: main
EOF

cat >"$work/app/main.lua" <<'EOF'
local function main()
  local t = {}
  for _, k in ipairs({ "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    "hotel", "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee",
    "zulu", "frame", "player", "score", "velocity" }) do
    t[k] = true
  end
  local order = {}
  for k in pairs(t) do order[#order + 1] = k end
  print(table.concat(order, " "))
end
return { main = main }
EOF

# A dependent's environment carries no pin of its own.
unset CFLAGS
export CARGO_TARGET_DIR="$project/target/dependent-determinism"
(cd "$work" && cargo build --quiet)
bin="$CARGO_TARGET_DIR/debug/moonhost-dependent-check"

first=""
for i in $(seq 1 "$runs"); do
  out="$("$bin" "$work/app")"
  echo "run $i: $out"
  if [ -z "$first" ]; then
    first="$out"
  elif [ "$out" != "$first" ]; then
    echo "FAIL: a crate depending on moonhost sees a different pairs order in run $i" >&2
    exit 1
  fi
done
echo "ok: $runs runs of a dependent crate printed the same pairs order"
