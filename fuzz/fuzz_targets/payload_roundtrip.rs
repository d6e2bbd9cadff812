//! `payload_roundtrip`: builds a Lua value from the input — a pool of tables wired together
//! with int/float/string/bool keys, scalar values, shared references and cycles, deep chains,
//! payload objects (`msg:payload()` userdata, sent as the value they wrap) and refused values
//! (functions, coroutines, plain userdata) — then:
//!
//! 1. `p1 = Payload::copy(v)`. When the value holds a refused type, or nests (counting the
//!    tables inside payload objects) 64 or more tables deep on every path, it must be an
//!    `Err` with the right message; when it is small enough that no path can reach 64 levels
//!    and holds nothing refused, it must be `Ok`.
//! 2. `v2 = p1.to_lua()` must be the same graph as `v`: a bijection between their tables
//!    (shared tables stay shared, distinct ones stay distinct, cycles stay cycles), equal
//!    keys and equal values with the same subtype (integers stay integers, NaN stays NaN).
//! 3. `p2 = Payload::copy(v2)` must succeed and equal `p1` (`Payload: PartialEq`) — or, if
//!    Lua iterates the rebuilt tables in another order, rebuild to the same graph again.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use moonhost::Payload;
use moonhost::mlua::{Lua, Table, Value};
use moonhost::payload::{CopyError, MAX_DEPTH, PayloadBox};
use std::collections::HashMap;

#[derive(Arbitrary, Debug, Clone)]
enum Scalar {
    Nil,
    Bool(bool),
    Int(i64),
    Small(i8),
    Float(f64),
    Str(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
enum Key {
    Int(i64),
    Small(u8),
    Float(f64),
    Str(Vec<u8>),
    Bool(bool),
}

#[derive(Arbitrary, Debug)]
enum Val {
    Scalar(Scalar),
    /// A table of the pool (shared references and cycles).
    Table(u8),
    /// A payload object wrapping a copy of a pool table, taken now.
    BoxTable(u8),
    /// A payload object wrapping a scalar.
    BoxScalar(Scalar),
    Function,
    Thread,
    Userdata,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Set {
        t: u8,
        k: Key,
        v: Val,
    },
    /// `t[k] = {{{...}}}`, `depth` fresh tables deep, the innermost holding `leaf`.
    Chain {
        t: u8,
        k: Key,
        depth: u8,
        leaf: Scalar,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    tables: u8,
    ops: Vec<Op>,
    root: Val,
}

/// A refused type reachable from the value, if any.
#[derive(Default)]
struct Facts {
    refused: Vec<&'static str>,
}

thread_local! {
    static LUA: Lua = Lua::new();
}

fn scalar(lua: &Lua, s: &Scalar) -> Value {
    match s {
        Scalar::Nil => Value::Nil,
        Scalar::Bool(b) => Value::Boolean(*b),
        Scalar::Int(i) => Value::Integer(*i),
        Scalar::Small(i) => Value::Integer(i64::from(*i)),
        Scalar::Float(f) => Value::Number(*f),
        Scalar::Str(b) => Value::String(lua.create_string(&b[..b.len().min(24)]).expect("string")),
    }
}

fn key(lua: &Lua, k: &Key) -> Value {
    match k {
        Key::Int(i) => Value::Integer(*i),
        Key::Small(i) => Value::Integer(i64::from(*i % 8) + 1),
        Key::Float(f) => Value::Number(*f),
        Key::Str(b) => Value::String(lua.create_string(&b[..b.len().min(24)]).expect("string")),
        Key::Bool(b) => Value::Boolean(*b),
    }
}

struct Builder<'a> {
    lua: &'a Lua,
    pool: Vec<Table>,
    /// Payload objects made so far, with the value each one stands for.
    boxes: HashMap<usize, Value>,
    /// Tables wrapped in payload objects so far.
    wrapped: usize,
}

impl Builder<'_> {
    fn val(&mut self, v: &Val) -> Value {
        let lua = self.lua;
        match v {
            Val::Scalar(s) => scalar(lua, s),
            Val::Table(i) => Value::Table(self.pool[*i as usize % self.pool.len()].clone()),
            Val::BoxTable(i) => {
                let t = Value::Table(self.pool[*i as usize % self.pool.len()].clone());
                match Payload::copy(&t) {
                    // Wrapping a table that holds earlier wraps grows the value with every
                    // step; past 2,000 wrapped tables per input, more only costs time.
                    // (Rebuilding a million tables fails: `tests/regressions.rs`,
                    // `spawn_argument_of_a_million_tables_fails_only_the_spawn`.)
                    Ok(p) if self.wrapped + tables_in(&p) > 2_000 => Value::Nil,
                    Ok(p) => {
                        self.wrapped += tables_in(&p);
                        self.boxed(p)
                    }
                    // Not copyable (yet): nothing to wrap.
                    Err(_) => Value::Nil,
                }
            }
            Val::BoxScalar(s) => {
                let p = Payload::copy(&scalar(lua, s)).expect("scalars always copy");
                self.boxed(p)
            }
            Val::Function => Value::Function(lua.create_function(|_, ()| Ok(())).expect("fn")),
            Val::Thread => {
                let f = lua.create_function(|_, ()| Ok(())).expect("fn");
                Value::Thread(lua.create_thread(f).expect("thread"))
            }
            Val::Userdata => Value::UserData(lua.create_any_userdata(0u8).expect("userdata")),
        }
    }

    fn boxed(&mut self, p: Payload) -> Value {
        let Some(stands_for) = rebuild(self.lua, &p) else {
            return Value::Nil;
        };
        let v = PayloadBox::new(p).into_lua(self.lua).expect("payload object");
        self.boxes.insert(v.to_pointer() as usize, stands_for);
        v
    }
}

/// `p.to_lua(lua)`, which may fail only for lack of memory.
fn rebuild(lua: &Lua, p: &Payload) -> Option<Value> {
    match p.to_lua(lua) {
        Ok(v) => Some(v),
        Err(e) => panic!("a copied payload does not rebuild: {e:?}"),
    }
}

/// Number of tables in `p` (shared ones once).
fn tables_in(p: &Payload) -> usize {
    match p {
        Payload::Table(t) => {
            1 + t
                .entries
                .iter()
                .map(|(k, v)| tables_in(k) + tables_in(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Whether the tables of `p` are numbered 0, 1, 2, ... in the depth-first order `to_lua`
/// creates them (key before value), and every `Ref` names one already created: what a copy
/// must look like for `to_lua` to rebuild it faithfully.
fn ids_in_order(p: &Payload) -> bool {
    fn walk(p: &Payload, next: &mut u32) -> bool {
        match p {
            Payload::Ref(id) => *id < *next,
            Payload::Table(t) => {
                if t.id != *next {
                    return false;
                }
                *next += 1;
                t.entries
                    .iter()
                    .all(|(k, v)| walk(k, next) && walk(v, next))
            }
            _ => true,
        }
    }
    walk(p, &mut 0)
}

/// What the original value means once payload objects stand for the value they wrap.
fn meaning<'v>(v: &'v Value, boxes: &'v HashMap<usize, Value>) -> &'v Value {
    match v {
        Value::UserData(ud) => boxes.get(&(ud.to_pointer() as usize)).unwrap_or(v),
        _ => v,
    }
}

/// Walks every table reachable from `v` (payload objects replaced by their meaning):
/// the number of distinct tables, the shortest depth at which each is found (BFS) and the
/// refused types present.
fn survey(v: &Value, boxes: &HashMap<usize, Value>, facts: &mut Facts) -> (usize, usize) {
    let mut depth_of: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::new();
    let mut note = |v: &Value, d: usize, queue: &mut std::collections::VecDeque<(Table, usize)>| {
        match meaning(v, boxes) {
            Value::Table(t) => {
                let p = t.to_pointer() as usize;
                if let std::collections::hash_map::Entry::Vacant(e) = depth_of.entry(p) {
                    e.insert(d);
                    queue.push_back((t.clone(), d));
                }
            }
            Value::Function(_) => facts.refused.push("function"),
            Value::Thread(_) => facts.refused.push("thread"),
            Value::UserData(_) | Value::LightUserData(_) => facts.refused.push("userdata"),
            _ => {}
        }
    };
    note(v, 0, &mut queue);
    let mut deepest = 0;
    while let Some((t, d)) = queue.pop_front() {
        deepest = deepest.max(d);
        for pair in t.pairs::<Value, Value>() {
            let (k, val) = pair.expect("plain tables iterate");
            note(&k, d + 1, &mut queue);
            note(&val, d + 1, &mut queue);
        }
    }
    (depth_of.len(), deepest)
}

/// Whether `a` (original, payload objects standing for their value) and `b` (rebuilt) are
/// the same graph.
fn same(
    a: &Value,
    b: &Value,
    boxes: &HashMap<usize, Value>,
    fwd: &mut HashMap<usize, usize>,
    back: &mut HashMap<usize, usize>,
) -> Result<(), String> {
    let a = meaning(a, boxes);
    match (a, b) {
        (Value::Nil, Value::Nil) => Ok(()),
        (Value::Boolean(x), Value::Boolean(y)) if x == y => Ok(()),
        (Value::Integer(x), Value::Integer(y)) if x == y => Ok(()),
        (Value::Number(x), Value::Number(y)) if x.to_bits() == y.to_bits() => Ok(()),
        (Value::String(x), Value::String(y)) if x.as_bytes() == y.as_bytes() => Ok(()),
        (Value::Table(x), Value::Table(y)) => {
            let (px, py) = (x.to_pointer() as usize, y.to_pointer() as usize);
            match (fwd.get(&px), back.get(&py)) {
                (Some(q), _) if *q == py => return Ok(()),
                (Some(q), _) => return Err(format!("table {px:#x} maps to {q:#x} and {py:#x}")),
                (None, Some(q)) => {
                    return Err(format!("tables {q:#x} and {px:#x} merged into {py:#x}"));
                }
                (None, None) => {}
            }
            if x == y {
                return Err("the rebuilt table is the original one".into());
            }
            fwd.insert(px, py);
            back.insert(py, px);
            let (mut na, mut nb) = (0usize, 0usize);
            for pair in x.pairs::<Value, Value>() {
                let (k, va) = pair.expect("plain tables iterate");
                // A payload object wrapping nil stands for nil: no entry at all.
                if matches!(meaning(&va, boxes), Value::Nil) {
                    continue;
                }
                na += 1;
                let vb: Value = y.raw_get(k.clone()).map_err(|e| e.to_string())?;
                same(&va, &vb, boxes, fwd, back).map_err(|e| format!("[{k:?}] {e}"))?;
            }
            for pair in y.pairs::<Value, Value>() {
                pair.expect("plain tables iterate");
                nb += 1;
            }
            if na != nb {
                return Err(format!("{na} entries became {nb}"));
            }
            if y.metatable().is_some() {
                return Err("the rebuilt table has a metatable".into());
            }
            Ok(())
        }
        _ => Err(format!("{a:?} became {b:?}")),
    }
}

/// Bytes a payload counts for against `max_payload_bytes`.
fn cost(p: &Payload) -> usize {
    16 + match p {
        Payload::Str(s) => s.len(),
        Payload::Table(t) => t.entries.iter().map(|(k, v)| cost(k) + cost(v)).sum(),
        _ => 0,
    }
}

fn check_size(v: &Value, p1: &Payload, size: usize) {
    let fits = Payload::copy_limited([v], MAX_DEPTH, size);
    // Compared through Debug so that NaN equals NaN (and -0.0 differs from 0.0).
    assert_eq!(
        format!("{:?}", fits.as_deref().ok()),
        format!("{:?}", Some(&[p1.clone()][..])),
        "a {size}-byte limit"
    );
    let over = Payload::copy_limited([v], MAX_DEPTH, size - 1);
    assert_eq!(
        over.err(),
        Some(CopyError::TooLarge(size - 1)),
        "a {}-byte limit",
        size - 1
    );
}

fn check(lua: &Lua, input: &Input) {
    let mut b = Builder {
        lua,
        pool: (0..(input.tables % 16).max(1))
            .map(|_| lua.create_table().expect("table"))
            .collect(),
        boxes: HashMap::new(),
        wrapped: 0,
    };
    for op in input.ops.iter().take(64) {
        match op {
            Op::Set { t, k, v } => {
                let t = b.pool[*t as usize % b.pool.len()].clone();
                let v = b.val(v);
                // NaN keys are refused by Lua itself; that is not the copier's business.
                let _ = t.raw_set(key(lua, k), v);
            }
            Op::Chain { t, k, depth, leaf } => {
                let t = b.pool[*t as usize % b.pool.len()].clone();
                let mut inner = lua.create_table().expect("table");
                inner.raw_set(1, scalar(lua, leaf)).expect("set");
                for _ in 1..(*depth % 80) {
                    let outer = lua.create_table().expect("table");
                    outer.raw_set("x", inner).expect("set");
                    inner = outer;
                }
                let _ = t.raw_set(key(lua, k), inner);
            }
        }
    }
    let v = b.val(&input.root);
    let boxes = std::mem::take(&mut b.boxes);

    let mut facts = Facts::default();
    let (ntables, deepest) = survey(&v, &boxes, &mut facts);
    let copied = Payload::copy(&v);
    let p1 = match copied {
        Err(e) => {
            let msg = e.to_string();
            let allowed = match &e {
                CopyError::Unsupported(t) => facts.refused.contains(t),
                CopyError::TooDeep(d) => *d == MAX_DEPTH && ntables > MAX_DEPTH,
                CopyError::TooLarge(_) => false,
            };
            assert!(
                allowed,
                "copy refused with {msg:?}; refused types present: {:?}, {ntables} tables, \
                 shortest-path depth {deepest}",
                facts.refused
            );
            assert!(msg.starts_with("cannot send "), "{msg}");
            return;
        }
        Ok(p) => p,
    };
    assert!(
        facts.refused.is_empty(),
        "copy accepted a value holding {:?}: {p1:?}",
        facts.refused
    );
    assert!(
        deepest < MAX_DEPTH,
        "copy accepted a value whose every path to some table is {deepest} levels deep \
         (limit {MAX_DEPTH})"
    );

    // The size limit: string bytes plus 16 per value (a shared table's later mentions
    // count 16 each), so exactly the payload's own size passes and one byte less does not.
    let size = cost(&p1);
    check_size(&v, &p1, size);

    assert!(ids_in_order(&p1), "table ids out of order: {p1:?}");
    let Some(v2) = rebuild(lua, &p1) else { return };
    if let Err(e) = same(&v, &v2, &boxes, &mut HashMap::new(), &mut HashMap::new()) {
        panic!("rebuilt value differs from the original: {e}\npayload: {p1:?}");
    }
    let p2 = Payload::copy(&v2).expect("a rebuilt payload copies again");
    if p1 != p2 {
        // Only the iteration order may differ: the second copy must rebuild to the same graph.
        let Some(v3) = rebuild(lua, &p2) else { return };
        let none = HashMap::new();
        if let Err(e) = same(&v2, &v3, &none, &mut HashMap::new(), &mut HashMap::new()) {
            panic!("second round trip differs: {e}\np1: {p1:?}\np2: {p2:?}");
        }
    }
}

fuzz_target!(|input: Input| {
    LUA.with(|lua| {
        check(lua, &input);
        lua.gc_collect().ok();
    });
});
