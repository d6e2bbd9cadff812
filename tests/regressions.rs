//! Regression tests for the bugs the fuzzers in `fuzz/` found (issue 5). Each test is the
//! smallest input that showed the bug, written as plain Rust or a tiny Lua app; `fuzz/README.md`
//! lists the findings and `fuzz/crashes/` keeps the raw fuzzer inputs. A test is named for
//! the behaviour it guards, so `cargo test --test regressions payload` finds the payload ones;
//! the finding it came from is in its doc comment and in `fuzz/README.md`.
//!
//! A test marked `#[ignore = "..."]` shows a runtime bug that is not fixed yet: run it with
//! `cargo test --test regressions -- --ignored`; remove the mark when the fix lands.

use moonhost::lua::duration;
use moonhost::mlua::{Lua, Value};
use moonhost::payload::{CopyError, MAX_DEPTH, PayloadBox};
use moonhost::{App, Exit, Payload, RunOutcome, Runtime};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A manifest with `r:root` (method `main`) and `r:child` (method `child`) of `root.lua`.
const ROOT_AND_CHILD: &str = "namespace: r
entries:
  - name: root
    kind: process.lua
    source: file://root.lua
    method: main
  - name: child
    kind: process.lua
    source: file://root.lua
    method: child
";

/// Writes `files` into a fresh folder under the system temp dir and returns it.
fn app_dir(files: &[(&str, &str)]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "moonhost-regressions-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create app dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write app file");
    }
    dir
}

/// A one-entry app: `r:root` runs `main` of `src`.
const ROOT_MANIFEST: &str = "namespace: r
entries:
  - name: root
    kind: process.lua
    source: file://root.lua
    method: main
";

/// Loads the app in `dir`, runs `r:root` for at most 2 s and returns the runtime (for
/// `stats`) with how the run ended.
fn run_root(dir: &PathBuf) -> (Runtime, RunOutcome) {
    let app = App::load(dir).expect("app loads");
    let mut rt = Runtime::builder().build(&app).expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let out = rt.run(Some(Duration::from_secs(2))).expect("run");
    (rt, out)
}

fn exit_of(out: &RunOutcome) -> &Exit {
    match out {
        RunOutcome::Exited(e) => &e.exit,
        other => panic!("the root did not end: {other:?}"),
    }
}

/// `duration_parse`: a fraction of 26+ digits made `f * scale` overflow i128 — a panic
/// ("attempt to multiply with overflow") in debug builds, a wrapped garbage value in release
/// builds. Go reads "0.99999999999999999999999999h" as (almost) one hour.
#[test]
fn duration_long_fraction_does_not_overflow() {
    let hour = 3_600_000_000_000i64;
    let n = duration::parse("0.99999999999999999999999999h").expect("a valid duration");
    assert!(
        (hour - 1..=hour).contains(&n),
        "0.99999999999999999999999999h parsed as {n} ns"
    );
    // The fuzzer's original input: every fraction digit counts, none may overflow.
    let s = format!("9.25s9.205{}5s", "1".repeat(106));
    let n = duration::parse(&s).expect("a valid duration");
    assert!(
        (18_455_111_111..=18_455_111_112).contains(&n),
        "{s} parsed as {n} ns"
    );
}

/// `payload_roundtrip`: a payload object (`msg:payload()`) that wraps a table, put inside
/// another table, is copied in with its own table ids, which clash with the outer table's.
/// Rebuilding then trips a debug assertion in `payload::build` (a panic that takes the whole
/// host down in debug builds) or, in release builds, resolves shared references to the
/// wrong table: here `got[1].b` comes back as `got[1]` itself instead of `got[1].a`.
#[test]
fn payload_object_inside_a_table_keeps_its_shared_tables() {
    let dir = app_dir(&[
        ("_index.yaml", ROOT_MANIFEST),
        (
            "root.lua",
            r#"
local function main()
  local s = {v = 1}
  process.send(process.pid(), "t", {a = s, b = s})
  local p = process.inbox():receive():payload()
  process.send(process.pid(), "u", {p})
  local got = process.inbox():receive():payload():data()
  local w = got[1]
  return w.a == w.b and w.a ~= w and w.a.v == 1
end
return { main = main }
"#,
        ),
    ]);
    let (_rt, out) = run_root(&dir);
    assert!(
        matches!(exit_of(&out), Exit::Normal(Payload::Bool(true))),
        "{out:?}"
    );
}

/// The same bug through spawn arguments: they are rebuilt by the scheduler itself
/// (`resume_args`), outside the guard that turns a binding's panic into a process failure,
/// so in debug builds the assertion in `payload::build` panics the whole host.
#[test]
fn payload_object_in_spawn_arguments_does_not_crash_the_host() {
    let manifest = ROOT_AND_CHILD;
    let dir = app_dir(&[
        ("_index.yaml", manifest),
        (
            "root.lua",
            r#"
local function child(t)
  local w = t[1]
  return w.a == w.b and w.a ~= w and w.a.v == 1
end
local function main()
  local s = {v = 1}
  process.send(process.pid(), "t", {a = s, b = s})
  local p = process.inbox():receive():payload()
  local pid = process.spawn_monitored("r:child", "app:processes", {p})
  local ev = process.events():receive()
  return ev.from == pid and ev.result.value == true
end
return { main = main, child = child }
"#,
        ),
    ]);
    let (_rt, out) = run_root(&dir);
    assert!(
        matches!(exit_of(&out), Exit::Normal(Payload::Bool(true))),
        "{out:?}"
    );
}

/// The same bug at the Rust level: the copy of `{payload object wrapping {x = {}}}` must
/// number its tables 0, 1, 2 in the order `to_lua` creates them.
#[test]
fn payload_object_inside_a_table_gets_fresh_ids() {
    let lua = Lua::new();
    let inner: Value = lua.load("return {x = {}}").eval().expect("valid");
    let boxed = PayloadBox::new(Payload::copy(&inner).expect("copies"))
        .into_lua(&lua)
        .expect("payload object");
    let outer = lua.create_table().expect("table");
    outer.raw_set(1, boxed).expect("set");
    let p = Payload::copy(&Value::Table(outer)).expect("copies");
    let mut ids = Vec::new();
    fn walk(p: &Payload, ids: &mut Vec<u32>) {
        if let Payload::Table(t) = p {
            ids.push(t.id);
            for (k, v) in &t.entries {
                walk(k, ids);
                walk(v, ids);
            }
        }
    }
    walk(&p, &mut ids);
    assert_eq!(ids, vec![0, 1, 2], "{p:?}");
}

/// `payload_roundtrip`: what a payload object wraps is not counted against the size and
/// depth limits (`max_payload_bytes`, `max_payload_depth`): the object counts as one value,
/// so forwarding `msg:payload()` inside a table sends any size and any depth.
#[test]
fn payload_object_counts_against_payload_limits() {
    let lua = Lua::new();
    // Size: a 1000-byte string inside a payload object, in a table, under a 100-byte limit.
    let big = Payload::Str(vec![b'x'; 1000].into());
    let t = lua.create_table().expect("table");
    t.raw_set(
        1,
        PayloadBox::new(big).into_lua(&lua).expect("payload object"),
    )
    .expect("set");
    assert_eq!(
        Payload::copy_limited([&Value::Table(t)], MAX_DEPTH, 100).err(),
        Some(CopyError::TooLarge(100))
    );
    // Depth: a 40-level table inside a payload object, 40 levels down: 80 levels in all.
    let deep: Value = lua
        .load("local t = {} local c = t for i = 1, 39 do c.x = {} c = c.x end return t")
        .eval()
        .expect("valid");
    let wrapped = PayloadBox::new(Payload::copy(&deep).expect("40 levels copy"))
        .into_lua(&lua)
        .expect("payload object");
    let outer: moonhost::mlua::Function = lua
        .load("return function(w) local t = {} local c = t for i = 1, 39 do c.x = {} c = c.x end c.x = w return t end")
        .eval()
        .expect("valid");
    let v: Value = outer.call(wrapped).expect("builds");
    assert_eq!(Payload::copy(&v).err(), Some(CopyError::TooDeep(MAX_DEPTH)));
}

/// `lua_chunk`: a channel whose buffer holds a reference to itself (directly, inside a
/// table, or through another channel) is never freed: its record stays in the core after
/// its process ended, `shutdown()` and a full collection.
#[test]
fn channel_holding_itself_is_freed() {
    let dir = app_dir(&[
        ("_index.yaml", ROOT_MANIFEST),
        (
            "root.lua",
            r#"
local function main()
  local c = channel.new(1)
  c:send(c)
  return true
end
return { main = main }
"#,
        ),
    ]);
    let (mut rt, out) = run_root(&dir);
    assert!(
        matches!(exit_of(&out), Exit::Normal(Payload::Bool(true))),
        "{out:?}"
    );
    rt.shutdown();
    rt.collect().expect("collect");
    assert_eq!(rt.stats().channels, 0, "{:?}", rt.stats());
}

/// `scheduler_ops`: the preemption hook can stop a task between a binding parking it (its
/// wait is registered) and the prelude's `coroutine.yield(BLOCK)` that should follow. The
/// scheduler takes that for a plain preemption and queues the task; if the wait completes
/// before the task runs again, the completion's values go to the hook's yield point and
/// are dropped, then the task yields BLOCK and parks on a wait that is already gone: it
/// never wakes (its `time.after` case was withdrawn with the wait) and the message that
/// completed the wait is lost. Here a helper answers each "go" with one "x"; the root
/// shifts its instruction count by one each round so some round is preempted inside the
/// window (round 310 with the default slice). Seen as a deadlock, or (with a smaller slice)
/// as a select that times out although its message came, after which the message is gone.
#[test]
fn preemption_while_parking_loses_no_wakeup() {
    let manifest = "namespace: r
entries:
  - name: root
    kind: process.lua
    source: file://root.lua
    method: main
  - name: helper
    kind: process.lua
    source: file://root.lua
    method: helper
";
    let dir = app_dir(&[
        ("_index.yaml", manifest),
        (
            "root.lua",
            r#"
local function helper(root)
  local inbox = process.inbox()
  while true do
    inbox:receive()
    process.send(root, "x", 1)
  end
end
local function main()
  local h = process.spawn("r:helper", "app:processes", process.pid())
  local inbox = process.inbox()
  for pad = 1, 1000 do
    process.send(h, "go")
    for i = 1, pad do end
    local r = channel.select{ inbox:case_receive(), time.after("200ms"):case_receive() }
    if r.channel ~= inbox then return "round " .. pad .. ": the answer was lost" end
  end
  return true
end
return { main = main, helper = helper }
"#,
        ),
    ]);
    // The virtual clock makes the 200 ms timeouts free; the bug does not depend on it.
    let app = App::load(&dir).expect("app loads");
    let mut rt = Runtime::builder()
        .seed(1)
        .build(&app)
        .expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let out = rt.run(Some(Duration::from_secs(10))).expect("run");
    assert!(
        matches!(exit_of(&out), Exit::Normal(Payload::Bool(true))),
        "{out:?}"
    );
}

/// `payload_roundtrip` (at `5cf7524`): rebuilding a payload of about a million tables fails
/// with mlua's `StackError` ("out of Lua stack"), because `payload::build` holds a handle to
/// every table at once and mlua's handle stack is full. For spawn arguments the rebuild
/// happens in the scheduler (`resume_args`), whose `?` turns it into an error of
/// `Runtime::run` itself: one process's spawn stops the whole runtime. (A receive of such a
/// message fails only the receiver, with a memory error.)
#[test]
fn spawn_argument_of_a_million_tables_fails_only_the_spawn() {
    let manifest = ROOT_AND_CHILD;
    let dir = app_dir(&[
        ("_index.yaml", manifest),
        (
            "root.lua",
            r#"
local function child(t) return #t end
local function main()
  local t = {}
  for i = 1, 1100000 do t[i] = {} end
  local pid, err = process.spawn_monitored("r:child", "app:processes", t)
  t = nil
  if not pid then return "spawn refused: " .. err end
  local ev = process.events():receive()
  return "child ended: " .. tostring(ev.error or ev.result.value)
end
return { main = main, child = child }
"#,
        ),
    ]);
    let app = App::load(&dir).expect("app loads");
    let mut rt = Runtime::builder().build(&app).expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let out = rt.run(Some(Duration::from_secs(60)));
    assert!(
        matches!(&out, Ok(RunOutcome::Exited(e)) if matches!(e.exit, Exit::Normal(_))),
        "{out:?}"
    );
}

/// Issue 9 (timers): a process's channels and timers are lists with a position stored in
/// each record (no B-tree), and a timer's channel object is made on demand. A child that
/// ends with thousands of armed timers, tickers and afters and thousands of channels (some
/// stopped or freed in between, and some timers whose channel object was made) leaves no
/// channel or timer record behind, and neither do collected timers of a living process.
#[test]
fn issue_9_timers_and_channels_die_with_their_process() {
    let dir = app_dir(&[
        ("_index.yaml", ROOT_AND_CHILD),
        (
            "root.lua",
            r#"
local function child(n)
  local keep = {}
  for i = 1, n do
    local t = time.timer("1h")
    keep[#keep + 1] = t
    if i % 2 == 0 then t:channel() end
    if i % 3 == 0 then t:stop() end
    keep[#keep + 1] = channel.new(1)
    keep[#keep + 1] = time.after("1h")
    if i % 10 == 0 then keep[#keep + 1] = time.ticker("1h") end
  end
  for i = 1, n do time.timer("1h") end -- dropped: freed by the collector
  collectgarbage()
  collectgarbage()
  return #keep
end
local function main()
  for _ = 1, 3 do
    local pid = process.spawn_monitored("r:child", "app:processes", 3000)
    local ev = process.events():receive()
    if ev.from ~= pid or ev.result.value ~= 9300 then return false end
  end
  return true
end
return { main = main, child = child }
"#,
        ),
    ]);
    let (rt, out) = run_root(&dir);
    assert!(
        matches!(exit_of(&out), Exit::Normal(Payload::Bool(true))),
        "{out:?}"
    );
    let s = rt.stats();
    assert_eq!((s.channels, s.timers), (0, 0), "{s:?}");
}
