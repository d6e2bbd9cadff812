use super::*;

fn lua_with_heap() -> Lua {
    let lua = Lua::new();
    assert!(
        install(&lua),
        "mlua's MemoryState has the layout this module reads"
    );
    lua
}

#[test]
fn install_swaps_the_allocator_once_and_keeps_mlua_s_count() {
    let lua = Lua::new();
    let before = lua.used_memory();
    assert!(install(&lua));
    assert!(ours(&lua).is_some());
    assert!(
        !install(&lua),
        "a second install finds the allocator already there"
    );
    // The count carries on from mlua's, and mlua's fallback (Lua's own count) agrees.
    assert!(used(&lua).abs_diff(before) < 4096);
    lua.load("t = {} for i = 1, 1000 do t[i] = {i} end")
        .exec()
        .unwrap();
    assert_eq!(used(&lua), lua.used_memory());
    assert_eq!(used(&lua), lua_count(&lua));
    lua.load("t = nil").exec().unwrap();
    lua.gc_collect().unwrap();
    assert_eq!(used(&lua), lua_count(&lua));
    // mlua no longer knows the allocator: limits go through `set_limit`.
    assert!(lua.set_memory_limit(1 << 20).is_err());
}

#[test]
fn the_limit_refuses_as_mlua_s_did_and_zero_lifts_it() {
    let lua = lua_with_heap();
    set_limit(&lua, used(&lua) + 64 * 1024);
    let grow = "local t = {} for i = 1, 1e6 do t[i] = i end";
    let err = lua.load(grow).exec().unwrap_err();
    assert!(
        matches!(err, mlua::Error::MemoryError(_)),
        "expected a memory error, got {err:?}"
    );
    lua.gc_collect().unwrap();
    set_limit(&lua, 0);
    lua.load(grow).exec().unwrap();
}

#[test]
fn a_state_without_the_allocator_uses_mlua_s_calls() {
    let lua = Lua::new();
    assert!(ours(&lua).is_none());
    assert_eq!(used(&lua), lua.used_memory());
    set_limit(&lua, 123_456_789);
    assert_eq!(lua.set_memory_limit(0).unwrap(), 123_456_789);
}

#[test]
fn a_freed_block_is_reused_for_its_own_size_only() {
    let p = obtain(64);
    assert!(!p.is_null());
    // SAFETY: `p` is a block of 64 bytes from `obtain`, given up here.
    unsafe { release(p, 64) };
    let q = obtain(72);
    assert_ne!(p, q, "a block is not handed out for another size");
    let r = obtain(64);
    assert_eq!(p, r, "the cached block comes back for its size");
    // Sizes the cache does not keep go straight to the global allocator.
    assert_eq!(class_of(60), None);
    assert_eq!(class_of(CACHE_MAX_BLOCK + 8), None);
    assert_eq!(class_of(8), Some(1));
    // SAFETY: each block is live, of the size given, and not used again.
    unsafe {
        release(q, 72);
        release(r, 64);
    }
}

#[test]
fn the_cache_holds_at_most_its_bytes() {
    let size = 1024;
    let blocks: Vec<_> = (0..2 * CACHE_MAX_BYTES / size)
        .map(|_| obtain(size))
        .collect();
    for &b in &blocks {
        // SAFETY: each block is live, of `size` bytes, and given up here.
        unsafe { release(b, size) };
    }
    let bytes = CACHE.with(|c| {
        // SAFETY: this thread's cache, read while nothing else uses it.
        unsafe { (*c.get()).bytes }
    });
    assert!(bytes <= CACHE_MAX_BYTES, "{bytes} bytes cached");
    assert!(bytes >= CACHE_MAX_BYTES - size);
}

#[test]
fn a_thread_s_cache_is_freed_when_the_thread_ends() {
    // Blocks cached on a thread that ends go back to the global allocator (a leak here
    // shows under a sanitizer or Miri, a double free as a crash).
    std::thread::spawn(|| {
        let lua = lua_with_heap();
        lua.load("for i = 1, 2000 do local t = {i, i} end")
            .exec()
            .unwrap();
        drop(lua);
        assert!(
            CACHE.with(|c| {
                // SAFETY: as above.
                unsafe { (*c.get()).bytes }
            }) > 0
        );
    })
    .join()
    .unwrap();
}
