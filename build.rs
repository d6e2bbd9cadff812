//! Builds Lua 5.4 from source with a fixed string-hash seed and links it into moonhost.
//!
//! Lua 5.4 seeds its string hash from the clock and from heap, stack and code addresses, so
//! `pairs` over string keys visits them in a different order in every run. Simulation mode
//! (SPEC §7) promises byte-identical runs, also to crates that depend on moonhost (§13.5);
//! a pin in `.cargo/config.toml` only reaches builds started inside this repository, so the
//! pin lives here. mlua is used with `mlua-sys/external`, which leaves compiling and linking
//! Lua to this script; the sources, defines and optimisation are those of mlua's `vendored`
//! build (the `lua-src` crate, vendored with a step hook in the pattern matcher), plus one
//! define.

use std::env;

/// The seed every moonhost build gives Lua's string hash. Changing it changes the `pairs`
/// order every seeded run, golden file and trace depends on.
const HASH_SEED_DEFINE: &str = "-Dluai_makeseed(L)=0x5eedu";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The vendored, patched Lua sources (vendor/lua-src/MOONHOST.md) are compiled here.
    println!("cargo:rerun-if-changed=vendor/lua-src/lua-5.4.9");
    // `cc` reads C flags from CFLAGS and from its target-specific variants; a newer `cc`
    // merges them all, an older one takes only the first it finds, so the define goes into
    // every variant that is set, and into CFLAGS in any case.
    let target = env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let kind = if env::var("HOST").ok().as_deref() == Some(target.as_str()) {
        "HOST"
    } else {
        "TARGET"
    };
    let names = [
        format!("CFLAGS_{target}"),
        format!("CFLAGS_{}", target.replace('-', "_")),
        format!("{kind}_CFLAGS"),
        "CFLAGS".to_string(),
    ];
    for name in &names {
        println!("cargo:rerun-if-env-changed={name}");
        let current = env::var(name).ok();
        if current.is_none() && name != "CFLAGS" {
            continue;
        }
        let flags = match current {
            Some(f) if !f.trim().is_empty() => format!("{f} {HASH_SEED_DEFINE}"),
            _ => HASH_SEED_DEFINE.to_string(),
        };
        // SAFETY: a build script is a single-threaded program and nothing else reads the
        // environment while this runs; `cc` (called by `lua-src` below) reads it afterwards.
        unsafe { env::set_var(name, flags) };
    }
    // Lua is compiled optimised in debug builds too: the slice bound (50 ms, issue 11) is
    // kept by charging C library calls by their work, calibrated on optimised C; at -O0 a
    // single pattern match over 1 MiB takes several times longer than its charge says.
    println!("cargo:rerun-if-env-changed=OPT_LEVEL");
    let opt = match env::var("OPT_LEVEL") {
        Ok(o) if o != "0" => o,
        _ => "2".to_string(),
    };
    lua_src::Build::new()
        .opt_level(&opt)
        .build(lua_src::Lua54)
        .print_cargo_metadata();
}
