//! The C walk and build against the mlua-based copy they replaced (kept here as the
//! oracle): same payloads (ids, order, sizing hints), same first error, same limits.

use super::super::{
    CopyError, MAX_DEPTH, PTable, Payload, PayloadBox, SCALAR_KIND, Scalar, ScalarBox,
    VALUE_COST_BYTES,
};
use mlua::{Function, Lua, Table, Value};
use std::collections::HashMap;

/// The copy as it was done through mlua's table API (values, `pairs`, handles).
struct Oracle {
    seen: HashMap<usize, u32>,
    next_id: u32,
    max_depth: usize,
    budget: usize,
    max_bytes: usize,
}

impl Oracle {
    fn copy_limited(vals: &[Value], depth: usize, bytes: usize) -> Result<Vec<Payload>, CopyError> {
        let mut o = Oracle {
            seen: HashMap::new(),
            next_id: 0,
            max_depth: depth,
            budget: bytes,
            max_bytes: bytes,
        };
        vals.iter().map(|v| o.copy(v, 0)).collect()
    }

    fn charge(&mut self, n: usize) -> Result<(), CopyError> {
        self.budget = self
            .budget
            .checked_sub(n)
            .ok_or(CopyError::TooLarge(self.max_bytes))?;
        Ok(())
    }

    fn copy(&mut self, v: &Value, depth: usize) -> Result<Payload, CopyError> {
        self.charge(VALUE_COST_BYTES)?;
        Ok(match v {
            Value::Nil => Payload::Nil,
            Value::Boolean(b) => Payload::Bool(*b),
            Value::Integer(i) => Payload::Int(*i),
            Value::Number(n) => Payload::Num(*n),
            Value::String(s) => {
                let b = s.as_bytes();
                self.charge(b.len())?;
                Payload::Str(b.to_vec().into())
            }
            Value::Table(t) => return self.copy_table(t, depth),
            Value::UserData(ud) => {
                if let Some(id) = self.seen.get(&(ud.to_pointer() as usize)) {
                    return Ok(Payload::Ref(*id));
                }
                if crate::ffi::chan::is_channel(v) {
                    return Err(CopyError::Unsupported("channel"));
                }
                return Err(CopyError::Unsupported("userdata"));
            }
            Value::Function(_) => return Err(CopyError::Unsupported("function")),
            Value::Thread(_) => return Err(CopyError::Unsupported("thread")),
            _ => return Err(CopyError::Unsupported("userdata")),
        })
    }

    fn copy_table(&mut self, t: &Table, depth: usize) -> Result<Payload, CopyError> {
        let ptr = t.to_pointer() as usize;
        if let Some(id) = self.seen.get(&ptr) {
            return Ok(Payload::Ref(*id));
        }
        if depth >= self.max_depth {
            return Err(CopyError::TooDeep(self.max_depth));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.seen.insert(ptr, id);
        let (mut entries, mut narr) = (Vec::new(), 0u32);
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|_| CopyError::Unsupported("table"))?;
            if let Value::Integer(i) = k
                && i >= 1
                && i as u64 <= u32::MAX as u64
            {
                narr += 1;
            }
            let k = self.copy(&k, depth + 1)?;
            entries.push((k, self.copy(&v, depth + 1)?));
        }
        Ok(Payload::Table(Box::new(PTable { id, narr, entries })))
    }
}

fn eval(lua: &Lua, src: &str) -> Value {
    lua.load(src).eval().expect("valid Lua")
}

/// Graphs the copy must agree with the oracle on.
const GRAPHS: &[&str] = &[
    "return {id = 1, name = 'x', data = {1, 2, 3}}",
    "local s = {1} local t = {a = s, b = s, c = {s, s}} t.self = t return t",
    "local a, b = {}, {} a.b = b b.a = a a[b] = a b[a] = b return {a, b}",
    "local t = {} for i = 1, 100000 do t[i] = i * 2 end t.n = 100000 return t",
    "return {1, 2.0, -0.0, 0/0, math.huge, math.mininteger, [1.5] = 'f', [2^53] = 'big', \
     [-1] = 'neg', [0] = 'zero', [true] = false, [false] = true, ['a\\0b'] = '\\0\\0', \
     [math.maxinteger] = 'max', [4294967296] = 'past u32'}",
    "local k = {} return {[k] = k, [{}] = {}, x = {y = {z = {k}}}}",
    "local t = {} for i = 1, 300 do t['k' .. i] = {i} end t.last = t return t",
    "local t = {nil, nil, 3, nil, 5} t[100] = 100 return t",
];

#[test]
fn walk_matches_the_mlua_copy_on_shared_cyclic_and_mixed_graphs() {
    let lua = Lua::new();
    for src in GRAPHS {
        let v = eval(&lua, src);
        let want = Oracle::copy_limited(std::slice::from_ref(&v), MAX_DEPTH, usize::MAX);
        let got = Payload::copy_limited([&v], MAX_DEPTH, usize::MAX).map(|p| p.into_vec());
        // Compared as text: NaN is not equal to itself.
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{src}");
    }
}

#[test]
fn several_values_share_one_numbering() {
    let lua = Lua::new();
    let vals: Vec<Value> = lua
        .load("local s = {1} return s, {s, {s}}, 's', s")
        .eval::<mlua::MultiValue>()
        .expect("valid")
        .into_vec();
    let want = Oracle::copy_limited(&vals, MAX_DEPTH, usize::MAX);
    let got = Payload::copy_many(vals.iter()).map(|p| p.into_vec());
    assert_eq!(got, want);
    assert!(matches!(got.expect("copies")[3], Payload::Ref(0)));
}

#[test]
fn nesting_at_the_limit_copies_and_one_past_it_is_refused() {
    let lua = Lua::new();
    let chain = |n: usize, key: bool| {
        let step = if key {
            "local k = {} c[k] = true c = k"
        } else {
            "c.x = {} c = c.x"
        };
        eval(
            &lua,
            &format!("local t = {{}} local c = t for i = 2, {n} do {step} end return t"),
        )
    };
    for key in [false, true] {
        for limit in [1, 5, MAX_DEPTH, 200] {
            let at = chain(limit, key);
            assert!(
                Payload::copy_limited([&at], limit, usize::MAX).is_ok(),
                "{limit} {key}"
            );
            let past = chain(limit + 1, key);
            assert_eq!(
                Payload::copy_limited([&past], limit, usize::MAX).err(),
                Some(CopyError::TooDeep(limit)),
                "{limit} {key}"
            );
        }
    }
}

#[test]
fn the_size_limit_accepts_exactly_the_payload_size() {
    let lua = Lua::new();
    for src in GRAPHS {
        let v = eval(&lua, src);
        let p = Payload::copy(&v).expect("copies");
        let (size, _) = p.measure();
        assert!(
            Payload::copy_limited([&v], MAX_DEPTH, size).is_ok(),
            "{src}"
        );
        assert_eq!(
            Payload::copy_limited([&v], MAX_DEPTH, size - 1).err(),
            Some(CopyError::TooLarge(size - 1)),
            "{src}"
        );
    }
}

#[test]
fn the_first_problem_in_walk_order_is_the_one_reported() {
    let lua = Lua::new();
    let cases = [
        "return {print}",
        "return {coroutine.create(print)}",
        "return {string.rep('x', 100), print}",
        "return {{{{{{{{}}}}}}}, print}",
        "return {[print] = 1}",
    ];
    for src in cases {
        let v = eval(&lua, src);
        for (depth, bytes) in [(MAX_DEPTH, usize::MAX), (3, usize::MAX), (MAX_DEPTH, 64)] {
            let want = Oracle::copy_limited(std::slice::from_ref(&v), depth, bytes).err();
            let got = Payload::copy_limited([&v], depth, bytes).err();
            assert_eq!(got, want, "{src} {depth} {bytes}");
        }
    }
}

/// Rebuilds `v`'s copy and hands original and copy to the Lua predicate `check`.
fn rebuilt_matches(lua: &Lua, v: Value, check: &str) -> bool {
    let copy = Payload::copy(&v)
        .expect("copies")
        .to_lua(lua)
        .expect("rebuilds");
    let f: Function = lua.load(check).eval().expect("valid");
    f.call::<bool>((v, copy)).expect("runs")
}

#[test]
fn the_build_keeps_sharing_cycles_and_every_kind_of_key() {
    let lua = Lua::new();
    let v = eval(&lua, GRAPHS[1]);
    assert!(rebuilt_matches(
        &lua,
        v,
        "return function(o, c) return c ~= o and c.a == c.b and c.c[1] == c.a \
         and c.c[2] == c.a and c.self == c and c.a[1] == 1 end"
    ));
    let v = eval(&lua, GRAPHS[2]);
    assert!(rebuilt_matches(
        &lua,
        v,
        "return function(o, c) local a, b = c[1], c[2] return a.b == b and b.a == a \
         and a[b] == a and b[a] == b and a ~= o[1] end"
    ));
    let v = eval(&lua, GRAPHS[4]);
    assert!(rebuilt_matches(
        &lua,
        v,
        "return function(o, c) local n = 0 for k, x in pairs(o) do n = n + 1 \
         if x == x and c[k] ~= x then return false end \
         if math.type(c[k]) ~= math.type(x) then return false end end \
         for _ in pairs(c) do n = n - 1 end \
         return n == 0 and c[4] ~= c[4] and 1 / c[3] == -math.huge and c['a\\0b'] == '\\0\\0' end"
    ));
    let v = eval(&lua, GRAPHS[3]);
    assert!(rebuilt_matches(
        &lua,
        v,
        "return function(o, c) if #c ~= 100000 or c.n ~= 100000 then return false end \
         for i = 1, #o do if c[i] ~= o[i] then return false end end return true end"
    ));
}

#[test]
fn a_rebuild_sizes_tables_as_the_copy_counted() {
    let lua = Lua::new();
    let v = eval(
        &lua,
        "local t = {} for i = 1, 1000 do t[i] = i end return t",
    );
    let p = Payload::copy(&v).expect("copies");
    let before = lua.used_memory();
    let rebuilt = p.to_lua(&lua).expect("rebuilds");
    // 1000 array slots of 16 bytes and no rehash on the way: under 17 KB for the table.
    let grew = lua.used_memory() - before;
    assert!(grew < 17_000, "{grew}");
    drop(rebuilt);
}

#[test]
fn hand_made_payloads_rebuild_or_fail_without_panicking() {
    let lua = Lua::new();
    let table = |entries, narr| {
        Payload::Table(Box::new(PTable {
            id: 0,
            narr,
            entries,
        }))
    };
    // A nil key is Lua's error, not a panic.
    let nil_key = table(vec![(Payload::Nil, Payload::Int(1))], 0);
    assert!(nil_key.to_lua(&lua).is_err());
    // A sizing hint larger than the table, and a reference to a table never built.
    let odd = table(vec![(Payload::Int(1), Payload::Ref(7))], u32::MAX);
    let v = odd.to_lua(&lua).expect("rebuilds");
    let Value::Table(t) = v else {
        panic!("a table")
    };
    assert_eq!(t.raw_len(), 0);
    // A payload object's value rebuilds through the same path.
    let boxed = payload_object(&lua, "inner");
    let outer = lua.create_table().expect("table");
    outer.raw_set("p", boxed).expect("set");
    let p = Payload::copy(&Value::Table(outer)).expect("copies");
    let Value::Table(t) = p.to_lua(&lua).expect("rebuilds") else {
        panic!("a table")
    };
    assert_eq!(t.raw_get::<String>("p").expect("field"), "inner");
}

#[test]
fn many_payloads_rebuild_as_one_graph() {
    let lua = Lua::new();
    let vals: Vec<Value> = lua
        .load("local s = {1} return s, {s}, 2")
        .eval::<mlua::MultiValue>()
        .expect("valid")
        .into_vec();
    let all = Payload::copy_many(vals.iter()).expect("copies");
    let out = Payload::to_lua_many(&lua, &all).expect("rebuilds");
    assert_eq!(out.len(), 3);
    let f: Function = lua
        .load("return function(a, b, c) return b[1] == a and a[1] == 1 and c == 2 end")
        .eval()
        .expect("valid");
    assert!(
        f.call::<bool>((out[0].clone(), out[1].clone(), out[2].clone()))
            .expect("runs")
    );
}

#[test]
fn copying_payload_objects_leaves_the_collector_pace_alone() {
    // With a pause of 1000% no new cycle starts while the heap grows by a few KiB, so an
    // object only a weak table holds survives; copying a payload object must not reset the
    // collector's debt (LUA_GCRESTART does), which ran a step on every copy and finished
    // cycles: forwarding `msg:payload()` cost ~200,000 instructions a message.
    let lua = Lua::new();
    lua.gc_set_mode(mlua::state::GcMode::Incremental(
        mlua::state::GcIncParams::default().pause(1000),
    ));
    let weak: Table = lua
        .load("local w = setmetatable({}, {__mode = 'v'}); w[1] = {} return w")
        .eval()
        .expect("weak table");
    lua.gc_collect().expect("collect");
    lua.gc_collect().expect("collect");
    // The collection above took w[1]; put a fresh one in after it.
    weak.raw_set(1, lua.create_table().expect("table"))
        .expect("set");
    let obj = payload_object(&lua, "inner");
    // Inside a table, so the walk meets it on the Lua stack.
    let holder = lua.create_table().expect("table");
    holder.raw_set(1, obj).expect("set");
    let v = Value::Table(holder);
    // A little Lua allocation beside each copy, as a receiver making message objects does:
    // it is what takes a collector step when the debt was reset.
    let mut keep = Vec::new();
    for _ in 0..1_000 {
        assert!(Payload::copy(&v).is_ok());
        keep.push(lua.create_table().expect("table"));
    }
    assert!(
        weak.raw_get::<Value>(1).expect("get") != Value::Nil,
        "the collector ran whole cycles while payload objects were copied"
    );
}

/// A payload object (`msg:payload()`) holding the string `s`.
fn payload_object(lua: &Lua, s: &str) -> Value {
    PayloadBox::new(Payload::from(s))
        .into_lua(lua)
        .expect("payload object")
}

#[test]
fn payload_objects_met_in_a_table_copy_in_place_as_their_values() {
    // The walk reads boxed and flat payload objects in place (no mlua handle): the same
    // object twice is still one shared table, and a flat one is its scalar.
    let lua = Lua::new();
    let inner: Value = lua.load("return {k = 'v'}").eval().expect("table");
    let boxed = PayloadBox::new(Payload::copy(&inner).expect("copies"))
        .into_lua(&lua)
        .expect("payload object");
    let scalar = Scalar::of(&Payload::from("short")).expect("a scalar");
    let flat = crate::ffi::boxed::new_flat(&lua, &SCALAR_KIND, ScalarBox(scalar))
        .expect("flat payload object");
    let holder: Value = lua
        .load("local a, b = ... return {a, a, {b}, b}")
        .call((boxed, flat))
        .expect("holder");
    let out = Payload::copy(&holder)
        .expect("copies")
        .to_lua(&lua)
        .expect("rebuilds");
    let f: Function = lua
        .load("return function(t) return t[1] == t[2] and t[1].k == 'v' and t[3][1] == 'short' and t[4] == 'short' end")
        .eval()
        .expect("valid");
    assert!(f.call::<bool>(out).expect("runs"));
}
