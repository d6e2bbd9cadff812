//! The vendored Lua's collector and string table patches (vendor/lua-src/MOONHOST.md: big
//! tables traversed in chunks, their back barrier made forward; the string table resized
//! incrementally) checked where a mistake shows: a bare Lua (`tests/lua_gc/driver.c`) built
//! from the vendored sources with Lua's internal assertions (`LUAI_ASSERT`,
//! `LUA_USE_APICHECK`), AddressSanitizer and thresholds so small (`MOONHOST_BIGTABLE=64`,
//! `MOONHOST_CHUNK=16`, `MOONHOST_STRTAB_INC=128`) that nearly every table is traversed in
//! chunks and every string table resize is a move in steps of one or two buckets.
//!
//! `tests/lua_gc/stress.lua`: random writes, removals, collisions and rehashes in big tables
//! while cycles run, each table holding the only reference to the fresh objects it is
//! given, every value read back. Without the resize or the moved-node hook (`ltable.c`)
//! this run stops on a heap-use-after-free.
//!
//! `tests/lua_gc/strings.lua`: short strings interned, dropped and interned again by the
//! hundred thousand, the table growing and shrinking with moves half done, collector steps,
//! full collections and both collector modes interleaved; every kept string is compared by
//! identity with a copy built another way, and the heap must come back to its start size.
//! With the lookup, the insertion after a move step or the removal ignoring the old array,
//! a bucket of the new array left uncleared, or the close not freeing the old array, this
//! run fails (a syntax error from a duplicate reserved word, a null or wild pointer
//! dereference in `luaS_remove`, the close's memory assertion). It also fills the table
//! while a shrink's move and then a growth's are under way (the resize waits for the
//! move), and checks that the pause set after a cycle that starts a shrink leaves out the
//! old bucket array (`setpause`). Run again with an emergency collection at every 1000th allocation
//! (`GC_EMERGENCY`, the driver's allocator failing first tries as Lua's
//! `EMERGENCYGCTESTS` does), so some run inside `lstring.c`'s allocations during a move:
//! with the emergency collection moving buckets (`luaC_fullgc`), that run stops on a
//! heap-use-after-free.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Builds the bare Lua into `dir`; returns its path. The compiler writes a file of this
/// process's own, renamed into place, so a concurrent run keeps the one it started.
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
    let out = dir.join(format!("lua-gc-asserts.{}", std::process::id()));
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&compiler)
        .args(["-O1", "-g", "-fno-omit-frame-pointer"])
        .args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
        ])
        .args(["-DLUAI_ASSERT", "-DLUA_USE_APICHECK", "-DLUA_USE_LINUX"])
        .args(["-DMOONHOST_BIGTABLE=64", "-DMOONHOST_CHUNK=16"])
        .args([
            "-DMOONHOST_STRTAB_INC=128",
            "-DMOONHOST_STRTAB_NEWSTEP=1",
            "-DMOONHOST_STRTAB_GCSTEP=2",
        ])
        .arg("-DMOONHOST_TABLEFLOOR=16")
        .arg("-I")
        .arg(&src)
        .args(&sources)
        .arg("-o")
        .arg(&out)
        .args(["-lm", "-ldl"])
        .status()
        .unwrap_or_else(|e| panic!("running the C compiler '{compiler}': {e}"));
    assert!(status.success(), "building the bare Lua failed: {status}");
    std::fs::rename(&out, &exe).expect("move the bare Lua into place");
    exe
}

/// The bare Lua, built once for all tests of this file, under the target directory.
fn bare_lua() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lua-gc");
        std::fs::create_dir_all(&dir).expect("create build dir");
        build(&dir)
    })
}

/// Runs `script` (in `tests/lua_gc/`) under each seed with `env`; returns the stdout of the
/// last run. Each run must succeed with nothing on stderr.
fn run_script(script: &str, env: &[(&str, &str)]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lua_gc")
        .join(script);
    let mut stdout = String::new();
    for seed in ["1", "2"] {
        let out = Command::new(bare_lua())
            .arg(&script)
            .env("GC_STRESS_SEED", seed)
            .envs(env.iter().copied())
            .output()
            .expect("run the bare Lua");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "seed {seed}: {}\n{stderr}",
            out.status
        );
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(stdout.contains(": ok"), "seed {seed}: {stdout}");
    }
    stdout
}

#[test]
fn collector_stress_under_assertions_and_asan() {
    run_script("stress.lua", &[("GC_STRESS_ROUNDS", "1500")]);
}

#[test]
fn string_table_stress_under_assertions_and_asan() {
    // ASAN fills whole allocations (not only their first 4 KiB) with 0xbe: a bucket of the
    // new array read before it is cleared is then a wild pointer.
    let fill = [("ASAN_OPTIONS", "max_malloc_fill_size=1073741824")];
    let out = run_script("strings.lua", &fill);
    // The script ends with a move in progress, so the close frees both bucket arrays.
    assert!(out.contains(", moving\n"), "no move at close: {out}");
}

/// The string table stress with an emergency collection at every 1000th allocation, in
/// fewer rounds (the emergency collections are whole ones): an emergency collection must
/// not move the string table's buckets (`internshrstr` may hold one).
#[test]
fn string_table_under_emergency_collections() {
    let env = [
        ("ASAN_OPTIONS", "max_malloc_fill_size=1073741824"),
        ("GC_EMERGENCY", "1000"),
        ("STR_STRESS_ROUNDS", "4"),
    ];
    let out = run_script("strings.lua", &env);
    let made = out
        .lines()
        .find_map(|l| l.strip_suffix(" emergency collections"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert!(
        made.is_some_and(|n| n > 0),
        "no emergency collection: {out}"
    );
}

/// The table bound (vendor/lua-src/MOONHOST.md, `ltable.c`): with the hook set to 256 hash
/// entries (`GC_TABLE_BOUND`), `tests/lua_gc/bound.lua` grows strong and weak tables of
/// every key kind, arrays and constructors past it while cycles run, under the same
/// assertions and ASAN: each fails with `table overflow` and stays whole and usable.
#[test]
fn tables_fail_at_the_bound_under_assertions_and_asan() {
    let out = run_script("bound.lua", &[("GC_TABLE_BOUND", "256")]);
    assert!(out.contains("bound: ok"), "{out}");
}
