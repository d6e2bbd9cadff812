//! The vendored Lua's collector patch (vendor/lua-src/MOONHOST.md: big tables traversed in
//! chunks, their back barrier made forward) checked where a mistake shows: a bare Lua
//! (`tests/lua_gc/driver.c`) built from the vendored sources with Lua's internal assertions
//! (`LUAI_ASSERT`, `LUA_USE_APICHECK`), AddressSanitizer and thresholds so small
//! (`MOONHOST_BIGTABLE=64`, `MOONHOST_CHUNK=16`) that nearly every table is traversed in
//! chunks, runs `tests/lua_gc/stress.lua`: random writes, removals, collisions and rehashes
//! in big tables while cycles run, each table holding the only reference to the fresh
//! objects it is given, every value read back. Without the resize or the moved-node hook
//! (`ltable.c`) this run stops on a heap-use-after-free.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the bare Lua into `dir`; returns its path.
fn build(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("vendor/lua-src/lua-5.4.9");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("vendored Lua sources")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    sources.push(root.join("tests/lua_gc/driver.c"));
    let exe = dir.join("lua-gc-asserts");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&compiler)
        .args(["-O1", "-g", "-fno-omit-frame-pointer"])
        .args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
        ])
        .args(["-DLUAI_ASSERT", "-DLUA_USE_APICHECK", "-DLUA_USE_LINUX"])
        .args(["-DMOONHOST_BIGTABLE=64", "-DMOONHOST_CHUNK=16"])
        .arg("-DMOONHOST_TABLEFLOOR=16")
        .arg("-I")
        .arg(&src)
        .args(&sources)
        .arg("-o")
        .arg(&exe)
        .args(["-lm", "-ldl"])
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler '{compiler}': {e}"));
    assert!(status.success(), "building the bare Lua failed: {status}");
    exe
}

#[test]
fn collector_stress_under_assertions_and_asan() {
    let dir = std::env::temp_dir().join(format!("moonhost-lua-gc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create build dir");
    let exe = build(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lua_gc/stress.lua");
    for seed in ["1", "2"] {
        let out = Command::new(&exe)
            .arg(&script)
            .env("GC_STRESS_SEED", seed)
            .env("GC_STRESS_ROUNDS", "1500")
            .output()
            .expect("run the bare Lua");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "seed {seed}: {}\n{stderr}",
            out.status
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The table bound (vendor/lua-src/MOONHOST.md, `ltable.c`): with the hook set to 256 hash
/// entries (`GC_TABLE_BOUND`), `tests/lua_gc/bound.lua` grows strong and weak tables of
/// every key kind, arrays and constructors past it while cycles run, under the same
/// assertions and ASAN: each fails with `table overflow` and stays whole and usable.
#[test]
fn tables_fail_at_the_bound_under_assertions_and_asan() {
    let dir = std::env::temp_dir().join(format!("moonhost-lua-bound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create build dir");
    let exe = build(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lua_gc/bound.lua");
    for seed in ["1", "2"] {
        let out = Command::new(&exe)
            .arg(&script)
            .env("GC_STRESS_SEED", seed)
            .env("GC_TABLE_BOUND", "256")
            .output()
            .expect("run the bare Lua");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "seed {seed}: {}\n{stderr}",
            out.status
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("bound: ok"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
