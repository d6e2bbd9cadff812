//! The soft and hard caps at the allocator, on a bare Lua state.

use super::*;

const MIB: usize = 1 << 20;

/// A Lua state with the refusal hook, its fuel, and the heap it starts with.
fn state() -> (Lua, Rc<Fuel>, usize) {
    let lua = Lua::new();
    let fuel = Rc::new(Fuel::default());
    install(&lua, fuel.clone());
    lua.gc_collect().expect("collect");
    let base = lua.used_memory();
    (lua, fuel, base)
}

/// Allocates a string of `n` bytes, kept alive by the returned handle.
fn alloc(lua: &Lua, n: usize) -> mlua::Result<mlua::LuaString> {
    lua.create_string(vec![b'x'; n])
}

fn is_memory_error(r: &mlua::Result<mlua::LuaString>) -> bool {
    matches!(r, Err(mlua::Error::MemoryError(_)))
}

#[test]
fn crossing_the_soft_cap_lets_the_allocation_through_and_marks_the_slice() {
    let (lua, fuel, base) = state();
    fuel.headroom.set(2 * MIB);
    fuel.cap_heap(&lua, base + MIB);
    let a = alloc(&lua, MIB / 2).expect("under the soft cap");
    assert!(!fuel.over.get());
    let before = lua.used_memory();
    let b = alloc(&lua, MIB).expect("crossing the soft cap is let through");
    assert!(fuel.over.get(), "the crossing is noted");
    assert_eq!(
        fuel.heap_cap.get(),
        base + MIB + 2 * MIB,
        "the cap is the hard cap now"
    );
    // mlua's allocator still counts every byte.
    assert!(lua.used_memory() >= before + MIB);
    assert!(lua.used_memory() > base + MIB);
    // Past the hard cap the allocator refuses, with Lua's memory error.
    let c = alloc(&lua, 2 * MIB);
    assert!(is_memory_error(&c), "past the hard cap: {c:?}");
    drop((a, b));
}

#[test]
fn a_slice_refused_after_its_collection_fails_at_its_next_crossing_once() {
    let (lua, fuel, base) = state();
    fuel.headroom.set(2 * MIB);
    fuel.refuse.set(true);
    fuel.cap_heap(&lua, base + MIB);
    let small = alloc(&lua, 1024).expect("under the cap");
    let r = alloc(&lua, MIB);
    assert!(is_memory_error(&r), "the crossing fails: {r:?}");
    assert!(!fuel.refuse.get(), "the refusal is used up");
    assert!(!fuel.over.get());
    // The next crossing is a new one: let through.
    let again = alloc(&lua, MIB).expect("a new crossing is let through");
    assert!(fuel.over.get());
    drop((small, again));
}

#[test]
fn one_allocation_larger_than_the_headroom_is_refused_at_once() {
    let (lua, fuel, base) = state();
    fuel.headroom.set(MIB);
    fuel.cap_heap(&lua, base + MIB);
    let r = alloc(&lua, 3 * MIB);
    assert!(is_memory_error(&r), "{r:?}");
    assert!(!fuel.over.get(), "nothing was let through");
    assert_eq!(fuel.heap_cap.get(), base + MIB, "the cap stays soft");
}

#[test]
fn without_headroom_the_cap_is_hard() {
    let (lua, fuel, base) = state();
    fuel.cap_heap(&lua, base + MIB);
    let r = alloc(&lua, 2 * MIB);
    assert!(is_memory_error(&r), "{r:?}");
    assert!(!fuel.over.get());
}

/// Makes `mib` MiB of garbage (strings no one holds).
fn garbage(lua: &Lua, mib: usize) {
    for _ in 0..mib {
        drop(alloc(lua, MIB).expect("garbage"));
    }
}

#[test]
fn a_refusal_over_a_small_heap_runs_the_stock_emergency_collection() {
    let (lua, fuel, base) = state();
    lua.gc_stop();
    garbage(&lua, 4);
    let used = lua.used_memory();
    assert!(used < FULL_COLLECTION_MAX_HEAP);
    fuel.cap_heap(&lua, used);
    // The emergency collection frees the garbage, and the retry fits.
    let s = alloc(&lua, 2 * MIB).expect("the emergency collection made room");
    assert!(lua.used_memory() < base + 3 * MIB);
    drop(s);
}

#[test]
fn a_refusal_over_a_big_heap_skips_the_emergency_collection() {
    let (lua, fuel, _) = state();
    lua.gc_stop();
    garbage(&lua, FULL_COLLECTION_MAX_HEAP / MIB + 4);
    let used = lua.used_memory();
    fuel.cap_heap(&lua, used);
    let r = alloc(&lua, 2 * MIB);
    assert!(is_memory_error(&r), "{r:?}");
    // The garbage (far more than a MiB) is all still there.
    assert!(lua.used_memory() + MIB > used, "no collection ran");
}
