//! Preemption by watchdog (issue 9): a process without an instruction limit runs Lua at
//! the speed of plain mlua (no count hook on every instruction), and is still preempted.

use moonhost::mlua::Lua;
use moonhost::{App, Exit, RunOutcome, Runtime};
use std::time::{Duration, Instant};

/// A tight loop: with a count hook installed every instruction takes the VM's slow path
/// (about 2x slower, NOTES.md).
const LOOP: &str = "local n = 0 for i = 1, 3000000 do n = n + i end return n";

fn app() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-preempt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create app dir");
    let manifest = "namespace: r\nentries:\n  - name: root\n    kind: process.lua\n    \
                    source: file://root.lua\n    method: main\n";
    std::fs::write(dir.join("_index.yaml"), manifest).expect("write manifest");
    let root = format!("local M = {{}}\nfunction M.main()\n  {LOOP}\nend\nreturn M\n");
    std::fs::write(dir.join("root.lua"), root).expect("write root");
    dir
}

/// Best of `n` timings of `f`.
fn best(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().expect("n > 0")
}

#[test]
fn tight_loop_runs_at_plain_mlua_speed() {
    let plain_lua = Lua::new();
    let loop_fn = plain_lua.load(LOOP).into_function().expect("compiles");
    let plain = best(5, || {
        let t = Instant::now();
        let _: i64 = loop_fn.call(()).expect("runs");
        t.elapsed()
    });
    let dir = app();
    let app = App::load(&dir).expect("app loads");
    let hosted = best(5, || {
        let mut rt = Runtime::builder().build(&app).expect("runtime builds");
        rt.spawn_root("r:root", &[]).expect("root spawns");
        let t = Instant::now();
        let out = rt.run(Some(Duration::from_secs(20))).expect("run");
        let took = t.elapsed();
        match out {
            RunOutcome::Exited(e) => assert!(matches!(e.exit, Exit::Normal(_)), "{:?}", e.exit),
            other => panic!("the root did not end: {other:?}"),
        }
        took
    });
    let _ = std::fs::remove_dir_all(&dir);
    let ratio = hosted.as_secs_f64() / plain.as_secs_f64();
    eprintln!("tight loop: plain {plain:?}, hosted {hosted:?} ({ratio:.2}x)");
    // Permanent count hook: ~2x. The bound leaves room for a loaded machine.
    assert!(
        ratio < 1.35,
        "the loop under the runtime took {hosted:?}, plain mlua {plain:?} ({ratio:.2}x)"
    );
}
