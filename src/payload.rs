//! `Payload`: a Lua value copied out of one process so it can be rebuilt inside another.
//!
//! Send payloads, spawn arguments, exit values and event results all travel as `Payload`
//! (SPEC §5). Copying is one bounded pass: scalars and strings by value, tables deep with
//! shared references and cycles preserved (each table gets an id on first visit; later
//! visits become `Ref(id)`), metatables dropped, depth capped at [`MAX_DEPTH`]. Functions,
//! coroutines, channels and other userdata are refused with `cannot send <type>`. A payload
//! object (`msg:payload()`) is sent as the value it wraps.

use mlua::{Lua, Table, Value};
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};
use std::fmt;

mod codec;
mod display;

/// Deepest table nesting a payload may have.
pub const MAX_DEPTH: usize = 64;

/// A copied Lua value.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer (stays an integer on the other side).
    Int(i64),
    /// A float.
    Num(f64),
    /// A string's bytes.
    Str(Box<[u8]>),
    /// A table seen for the first time in this payload.
    Table(Box<PTable>),
    /// A table already copied earlier in this payload (shared reference or cycle).
    Ref(u32),
}

/// The contents of one copied table.
#[derive(Debug, Clone, PartialEq)]
pub struct PTable {
    /// Id that later `Ref`s use.
    pub id: u32,
    /// Number of entries with keys 1..n (a sizing hint for the rebuilt table).
    pub narr: u32,
    /// Key/value pairs in iteration order.
    pub entries: Vec<(Payload, Payload)>,
}

/// Why a value could not be copied.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyError {
    /// The value (or something inside it) has a type that cannot cross processes.
    Unsupported(&'static str),
    /// Tables nest deeper than the limit.
    TooDeep(usize),
    /// The payload is larger than the limit, in bytes.
    TooLarge(usize),
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::Unsupported(t) => write!(f, "cannot send {t}"),
            CopyError::TooDeep(d) => write!(f, "cannot send table nested deeper than {d} levels"),
            CopyError::TooLarge(b) => write!(f, "cannot send payload larger than {b} bytes"),
        }
    }
}

/// The userdata a message's payload object wraps; sending it sends the wrapped value.
#[derive(Debug, Clone)]
pub struct PayloadBox(pub Payload);

impl Payload {
    /// Copies a Lua value.
    ///
    /// # Errors
    /// [`CopyError`] for functions, threads, userdata other than payload objects, and tables
    /// nested deeper than [`MAX_DEPTH`].
    pub fn copy(v: &Value) -> Result<Payload, CopyError> {
        Copier::new(MAX_DEPTH, usize::MAX).copy(v, 0)
    }

    /// Copies several values as one message: a table shared between them stays shared.
    ///
    /// # Errors
    /// As [`Payload::copy`].
    pub fn copy_many<'a>(
        vals: impl IntoIterator<Item = &'a Value>,
    ) -> Result<SmallVec<[Payload; 1]>, CopyError> {
        Payload::copy_limited(vals, MAX_DEPTH, usize::MAX)
    }

    /// As [`Payload::copy_many`], refusing nesting deeper than `depth` and payloads larger
    /// than `bytes` (string bytes plus 16 per value).
    ///
    /// # Errors
    /// As [`Payload::copy`], plus [`CopyError::TooLarge`].
    pub fn copy_limited<'a>(
        vals: impl IntoIterator<Item = &'a Value>,
        depth: usize,
        bytes: usize,
    ) -> Result<SmallVec<[Payload; 1]>, CopyError> {
        let mut c = Copier::new(depth, bytes);
        vals.into_iter().map(|v| c.copy(v, 0)).collect()
    }

    /// Rebuilds several payloads copied together, keeping tables shared between them.
    ///
    /// # Errors
    /// Only Lua allocation failures.
    pub fn to_lua_many(lua: &Lua, all: &[Payload]) -> mlua::Result<Vec<Value>> {
        let mut b = Builder::for_payloads(all);
        all.iter().map(|p| b.build(lua, p)).collect()
    }

    /// Payload `idx` of a message on its own: tables it shares with the other payloads are
    /// copied in, so it can be rebuilt or sent alone.
    pub fn standalone(all: &[Payload], idx: usize) -> Payload {
        let mut index = HashMap::new();
        for p in all {
            index_tables(p, &mut index);
        }
        renumber(&all[idx], &index, &mut HashMap::new(), &mut 0)
    }

    /// The payloads of a message as one value: the first alone, `nil` for none, or an array
    /// of them (tables shared between them stay shared).
    pub fn combined(all: &[Payload]) -> Payload {
        match all {
            [] => Payload::Nil,
            [_] => Payload::standalone(all, 0),
            many => {
                let mut index = HashMap::new();
                for p in many {
                    index_tables(p, &mut index);
                }
                let (mut seen, mut next) = (HashMap::new(), 1);
                let entries = many
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let v = renumber(p, &index, &mut seen, &mut next);
                        (Payload::Int(i as i64 + 1), v)
                    })
                    .collect();
                Payload::Table(Box::new(PTable {
                    id: 0,
                    narr: many.len() as u32,
                    entries,
                }))
            }
        }
    }

    /// Rebuilds the value inside the Lua state.
    ///
    /// # Errors
    /// Only Lua allocation failures.
    pub fn to_lua(&self, lua: &Lua) -> mlua::Result<Value> {
        match self {
            Payload::Nil => Ok(Value::Nil),
            Payload::Bool(b) => Ok(Value::Boolean(*b)),
            Payload::Int(i) => Ok(Value::Integer(*i)),
            Payload::Num(n) => Ok(Value::Number(*n)),
            Payload::Str(s) => Ok(Value::String(lua.create_string(s)?)),
            _ => Builder::for_payloads(std::slice::from_ref(self)).build(lua, self),
        }
    }

    /// Size as the payload limit counts it (string bytes plus 16 per value) and table
    /// nesting depth.
    pub fn measure(&self) -> (usize, usize) {
        match self {
            Payload::Str(s) => (VALUE_COST_BYTES + s.len(), 0),
            Payload::Table(t) => {
                let mut bytes = VALUE_COST_BYTES;
                let mut depth = 0;
                for (k, v) in &t.entries {
                    for p in [k, v] {
                        let (b, d) = p.measure();
                        bytes += b;
                        depth = depth.max(d);
                    }
                }
                (bytes, depth + 1)
            }
            _ => (VALUE_COST_BYTES, 0),
        }
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Payload::Nil)
    }
}

/// Bytes a value counts for against the payload size limit, besides its string bytes.
pub const VALUE_COST_BYTES: usize = 16;

struct Copier {
    seen: HashMap<usize, u32>,
    next_id: u32,
    max_depth: usize,
    budget: usize,
    max_bytes: usize,
}

impl Copier {
    fn new(max_depth: usize, max_bytes: usize) -> Copier {
        Copier {
            seen: HashMap::new(),
            next_id: 0,
            max_depth,
            budget: max_bytes,
            max_bytes,
        }
    }

    fn charge(&mut self, n: usize) -> Result<(), CopyError> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(CopyError::TooLarge(self.max_bytes)),
        }
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
                Payload::Str(b.to_vec().into_boxed_slice())
            }
            Value::Table(t) => return self.copy_table(t, depth),
            Value::UserData(ud) => {
                let ptr = ud.to_pointer() as usize;
                if let Some(id) = self.seen.get(&ptr) {
                    // The same payload object twice in one message is one shared table,
                    // not two copies (copies would double with every level of wrapping).
                    return Ok(Payload::Ref(*id));
                }
                if let Ok(b) = ud.borrow::<PayloadBox>() {
                    // Forwarding a received payload is sending it: the same limits apply.
                    let (bytes, nesting) = b.0.measure();
                    if depth + nesting > self.max_depth {
                        return Err(CopyError::TooDeep(self.max_depth));
                    }
                    self.charge(bytes.saturating_sub(VALUE_COST_BYTES))?;
                    // Its tables join this payload's numbering, in the order `build` makes them.
                    let mut index = HashMap::new();
                    index_tables(&b.0, &mut index);
                    let p = renumber(&b.0, &index, &mut HashMap::new(), &mut self.next_id);
                    if let Payload::Table(t) = &p {
                        self.seen.insert(ptr, t.id);
                    }
                    return Ok(p);
                }
                if crate::ffi::chan::is_channel(v) {
                    return Err(CopyError::Unsupported("channel"));
                }
                // Error objects name themselves through their metatable's
                // `__name`; an error object travels as its message (SPEC §9.1).
                let named = ud
                    .metatable()
                    .and_then(|mt| mt.get::<Option<mlua::LuaString>>("__name"))
                    .ok()
                    .flatten();
                if named.as_ref().is_some_and(|n| n == "error") {
                    let msg = Value::UserData(ud.clone())
                        .to_string()
                        .map_err(|_| CopyError::Unsupported("userdata"))?;
                    self.charge(msg.len())?;
                    return Ok(Payload::Str(msg.into_bytes().into()));
                }
                return Err(CopyError::Unsupported("userdata"));
            }
            Value::Function(_) => return Err(CopyError::Unsupported("function")),
            Value::Thread(_) => return Err(CopyError::Unsupported("thread")),
            Value::LightUserData(_) => return Err(CopyError::Unsupported("userdata")),
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
        let mut entries = Vec::with_capacity(t.raw_len());
        let mut narr = 0u32;
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|_| CopyError::Unsupported("table"))?;
            if let Value::Integer(i) = k
                && i >= 1
                && i as u64 <= u32::MAX as u64
            {
                narr += 1;
            }
            let k = self.copy(&k, depth + 1)?;
            let v = self.copy(&v, depth + 1)?;
            entries.push((k, v));
        }
        Ok(Payload::Table(Box::new(PTable { id, narr, entries })))
    }
}

fn index_tables<'a>(p: &'a Payload, index: &mut HashMap<u32, &'a PTable>) {
    if let Payload::Table(t) = p {
        index.insert(t.id, t);
        for (k, v) in &t.entries {
            index_tables(k, index);
            index_tables(v, index);
        }
    }
}

/// Copies `p`, giving tables new ids in the order `build` will create them and resolving
/// references to tables outside `p` through `index`.
fn renumber(
    p: &Payload,
    index: &HashMap<u32, &PTable>,
    seen: &mut HashMap<u32, u32>,
    next: &mut u32,
) -> Payload {
    let table = match p {
        Payload::Ref(id) => match seen.get(id) {
            Some(n) => return Payload::Ref(*n),
            None => match index.get(id) {
                Some(t) => *t,
                None => return Payload::Nil,
            },
        },
        Payload::Table(t) => t,
        other => return other.clone(),
    };
    if let Some(n) = seen.get(&table.id) {
        return Payload::Ref(*n);
    }
    let id = *next;
    *next += 1;
    seen.insert(table.id, id);
    let entries = table
        .entries
        .iter()
        .map(|(k, v)| {
            let k = renumber(k, index, seen, next);
            (k, renumber(v, index, seen, next))
        })
        .collect();
    Payload::Table(Box::new(PTable {
        id,
        narr: table.narr,
        entries,
    }))
}

/// Rebuilds payloads as Lua values, holding on only to the tables a `Ref` points back to
/// (a handle per table of a wide payload could exhaust mlua's reference slots).
struct Builder {
    wanted: HashSet<u32>,
    tables: HashMap<u32, Table>,
}

impl Builder {
    fn for_payloads(all: &[Payload]) -> Builder {
        let mut wanted = HashSet::new();
        for p in all {
            collect_refs(p, &mut wanted);
        }
        Builder {
            wanted,
            tables: HashMap::new(),
        }
    }

    fn build(&mut self, lua: &Lua, p: &Payload) -> mlua::Result<Value> {
        Ok(match p {
            Payload::Nil => Value::Nil,
            Payload::Bool(b) => Value::Boolean(*b),
            Payload::Int(i) => Value::Integer(*i),
            Payload::Num(n) => Value::Number(*n),
            Payload::Str(s) => Value::String(lua.create_string(s)?),
            Payload::Ref(id) => self
                .tables
                .get(id)
                .map(|t| Value::Table(t.clone()))
                .unwrap_or(Value::Nil),
            Payload::Table(pt) => {
                let nrec = pt.entries.len() - pt.narr as usize;
                let t = lua.create_table_with_capacity(pt.narr as usize, nrec)?;
                if self.wanted.contains(&pt.id) {
                    self.tables.insert(pt.id, t.clone());
                }
                for (k, v) in &pt.entries {
                    let k = self.build(lua, k)?;
                    let v = self.build(lua, v)?;
                    t.raw_set(k, v)?;
                }
                Value::Table(t)
            }
        })
    }
}

fn collect_refs(p: &Payload, out: &mut HashSet<u32>) {
    match p {
        Payload::Ref(id) => {
            out.insert(*id);
        }
        Payload::Table(t) => {
            for (k, v) in &t.entries {
                collect_refs(k, out);
                collect_refs(v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(lua: &Lua, src: &str) -> Value {
        let v: Value = lua.load(src).eval().expect("valid");
        let p = Payload::copy(&v).expect("copyable");
        p.to_lua(lua).expect("rebuild")
    }

    #[test]
    fn scalars_keep_their_types() {
        let lua = Lua::new();
        assert_eq!(roundtrip(&lua, "3"), Value::Integer(3));
        assert_eq!(roundtrip(&lua, "3.5"), Value::Number(3.5));
        assert_eq!(roundtrip(&lua, "true"), Value::Boolean(true));
        let s = roundtrip(&lua, "'hi\\0there'");
        assert_eq!(
            s.as_string().map(|s| s.as_bytes().to_vec()),
            Some(b"hi\0there".to_vec())
        );
    }

    #[test]
    fn tables_are_deep_copies_with_shared_refs_and_cycles() {
        let lua = Lua::new();
        let v: Value = lua
            .load("local s = {1} local t = {a = s, b = s, n = {x = 1}} t.self = t return t")
            .eval()
            .expect("valid");
        let copy = Payload::copy(&v)
            .expect("copyable")
            .to_lua(&lua)
            .expect("rebuild");
        let f: mlua::Function = lua
            .load(
                "return function(orig, c) return c ~= orig and c.a == c.b and c.self == c \
                 and c.n.x == 1 and c.a ~= orig.a end",
            )
            .eval()
            .expect("valid");
        assert!(f.call::<bool>((v, copy)).expect("call"));
    }

    #[test]
    fn tables_shared_between_payloads_stay_shared_and_split_cleanly() {
        let lua = Lua::new();
        let t: Value = lua.load("return {x = {1}}").eval().expect("valid");
        let inner: Value = match &t {
            Value::Table(t) => t.get("x").expect("field"),
            _ => unreachable!(),
        };
        let all = Payload::copy_many([&t, &inner]).expect("copyable");
        let vals = Payload::to_lua_many(&lua, &all).expect("rebuild");
        let f: mlua::Function = lua
            .load("return function(a, b) return a.x == b and b[1] == 1 end")
            .eval()
            .expect("valid");
        assert!(
            f.call::<bool>((vals[0].clone(), vals[1].clone()))
                .expect("call")
        );
        let alone = Payload::standalone(&all, 1).to_lua(&lua).expect("rebuild");
        let g: mlua::Function = lua
            .load("return function(b) return b[1] == 1 end")
            .eval()
            .expect("valid");
        assert!(g.call::<bool>(alone).expect("call"));
    }

    #[test]
    fn refuses_functions_and_deep_nesting() {
        let lua = Lua::new();
        let f: Value = lua.load("return {print}").eval().expect("valid");
        assert_eq!(Payload::copy(&f), Err(CopyError::Unsupported("function")));
        let deep: Value = lua
            .load("local t = {} local c = t for i = 1, 100 do c.x = {} c = c.x end return t")
            .eval()
            .expect("valid");
        assert_eq!(Payload::copy(&deep), Err(CopyError::TooDeep(MAX_DEPTH)));
        let big: Value = lua
            .load("return {string.rep('x', 100)}")
            .eval()
            .expect("valid");
        assert_eq!(
            Payload::copy_limited([&big], MAX_DEPTH, 64).map(|_| ()),
            Err(CopyError::TooLarge(64))
        );
        assert_eq!(
            CopyError::Unsupported("function").to_string(),
            "cannot send function"
        );
    }

    #[test]
    fn sixty_four_levels_are_allowed() {
        let lua = Lua::new();
        let ok: Value = lua
            .load("local t = {} local c = t for i = 1, 63 do c.x = {} c = c.x end return t")
            .eval()
            .expect("valid");
        assert!(Payload::copy(&ok).is_ok());
    }
}
