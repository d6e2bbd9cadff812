//! Tests of `ffi::cases`: every shape of case list read in place agrees with the C API.

use super::*;
use mlua::{Lua, Table as LuaTable, Value};

/// What `receive_case` reads for entry `k` of `list`.
fn read(lua: &Lua, list: &LuaTable, k: usize) -> Case {
    assert!(check(lua), "the vendored Lua's layout holds");
    // SAFETY: `list` is a live table, kept alive by its handle for the call.
    unsafe { receive_case(list.to_pointer(), k) }
}

/// The table Lua function `src` (of one argument) returns for `ch`.
fn written(lua: &Lua, src: &str, ch: &Value) -> LuaTable {
    lua.load(src)
        .eval::<mlua::Function>()
        .unwrap()
        .call(ch.clone())
        .unwrap()
}

fn chan_id(lua: &Lua, v: &Value) -> u64 {
    super::super::chan::id_of(lua, v).expect("a channel object")
}

#[test]
fn receive_cases_give_their_channel_ids() {
    let lua = Lua::new();
    let ch = Value::UserData(super::super::chan::new_object(&lua, 0x1234_5678).unwrap());
    let list = lua.create_table().unwrap();
    // As case_receive makes them, as a script would write one, and with no direction.
    let made = lua
        .create_sequence_from([ch.clone(), Value::Boolean(false)])
        .unwrap();
    list.raw_set(1, made).unwrap();
    let by_hand = written(&lua, "return function(c) return { c, false } end", &ch);
    list.raw_set(2, by_hand).unwrap();
    let nil_dir = written(&lua, "return function(c) return { c } end", &ch);
    list.raw_set(3, nil_dir).unwrap();
    let want = chan_id(&lua, &ch);
    for k in 1..=2 {
        assert_eq!(read(&lua, &list, k), Case::Receive(want), "case {k}");
    }
    // `{c}` has no entry 2 in its array part: it might sit in the hash part, so the C API
    // reads it.
    assert_eq!(read(&lua, &list, 3), Case::Unknown);
}

#[test]
fn other_values_are_not_receive_cases() {
    let lua = Lua::new();
    let ch = Value::UserData(super::super::chan::new_object(&lua, 7).unwrap());
    let list = lua.create_table().unwrap();
    let send = lua
        .create_sequence_from([ch.clone(), Value::Boolean(true), Value::Integer(1)])
        .unwrap();
    list.raw_set(1, send).unwrap();
    list.raw_set(2, 42).unwrap();
    let not_chan = lua
        .create_sequence_from([
            lua.create_any_userdata(0u64).map(Value::UserData).unwrap(),
            Value::Boolean(false),
        ])
        .unwrap();
    list.raw_set(3, not_chan).unwrap();
    let table_chan = lua
        .create_sequence_from([
            lua.create_table().map(Value::Table).unwrap(),
            Value::Boolean(false),
        ])
        .unwrap();
    list.raw_set(4, table_chan).unwrap();
    let truthy = lua
        .create_sequence_from([ch.clone(), Value::Integer(0)])
        .unwrap();
    list.raw_set(5, truthy).unwrap();
    for k in 1..=5 {
        assert_eq!(read(&lua, &list, k), Case::Other, "entry {k}");
    }
}

#[test]
fn entries_outside_array_parts_are_left_to_the_c_api() {
    let lua = Lua::new();
    let ch = Value::UserData(super::super::chan::new_object(&lua, 7).unwrap());
    // Tables with hash room and no array part keep keys 1 and 2 in their hash part.
    let hashed_case = lua.create_table_with_capacity(0, 4).unwrap();
    hashed_case.raw_set(1, ch.clone()).unwrap();
    hashed_case.raw_set(2, false).unwrap();
    let list = lua.create_sequence_from([hashed_case.clone()]).unwrap();
    assert_eq!(read(&lua, &list, 1), Case::Unknown, "a case in a hash part");
    let hashed_list = lua.create_table_with_capacity(0, 4).unwrap();
    let case = lua
        .create_sequence_from([ch.clone(), Value::Boolean(false)])
        .unwrap();
    hashed_list.raw_set(1, case).unwrap();
    assert_eq!(hashed_list.raw_len(), 1);
    assert_eq!(
        read(&lua, &hashed_list, 1),
        Case::Unknown,
        "a list in a hash part"
    );
    let empty = lua.create_table().unwrap();
    assert_eq!(read(&lua, &empty, 1), Case::Unknown);
    assert_eq!(read(&lua, &list, 0), Case::Unknown);
    assert_eq!(read(&lua, &list, 2), Case::Unknown, "past the array part");
}
