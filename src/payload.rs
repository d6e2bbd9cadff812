//! `Payload`: a Lua value copied out of one process so it can be rebuilt inside another.
//!
//! Send payloads, spawn arguments, exit values and event results all travel as `Payload`
//! (SPEC §5). Copying is one bounded pass: scalars and strings by value, tables deep with
//! shared references and cycles preserved (each table gets an id on first visit; later
//! visits become `Ref(id)`), metatables dropped, depth capped at [`MAX_DEPTH`]. Functions,
//! coroutines, channels and other userdata are refused with `cannot send <type>`. A payload
//! object (`msg:payload()`) is sent as the value it wraps.

use crate::ffi::hot::Call;
use crate::ffi::{build, walk};
use copy::Copier;
use mlua::{Lua, Value};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::fmt;

mod codec;
mod copy;
mod display;
mod pstr;
mod scalar;

pub use pstr::PStr;
pub use scalar::{SCALAR_KIND, SHORT, Scalar, ScalarBox};

/// The payloads of one message and their size as [`Payload::measure`] counts it.
pub type Copied = (SmallVec<[Payload; 1]>, usize);

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
    /// A string's bytes (short ones inline).
    Str(PStr),
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

/// The userdata a message's payload object wraps; sending it sends the wrapped value. The
/// value is shared with the message object it came from (`msg:payload()` makes no copy).
#[derive(Debug, Clone)]
pub struct PayloadBox(pub std::rc::Rc<Payload>);

/// The kind key of payload objects (`ffi::boxed`); the Lua bindings install its methods.
pub static PAYLOAD_KIND: u8 = 0;

impl PayloadBox {
    /// A payload box holding `p`.
    pub fn new(p: Payload) -> PayloadBox {
        PayloadBox(std::rc::Rc::new(p))
    }

    /// The payload object holding this value (`msg:payload()`).
    ///
    /// # Errors
    /// Lua allocation failures.
    pub fn into_lua(self, lua: &mlua::Lua) -> mlua::Result<Value> {
        crate::ffi::boxed::new(lua, &PAYLOAD_KIND, Box::new(self))
    }
}

impl Payload {
    /// Copies a Lua value.
    ///
    /// # Errors
    /// [`CopyError`] for functions, threads, userdata other than payload objects, and tables
    /// nested deeper than [`MAX_DEPTH`].
    pub fn copy(v: &Value) -> Result<Payload, CopyError> {
        walk::value(v, &mut Copier::new(MAX_DEPTH, usize::MAX))
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
        vals.into_iter().map(|v| walk::value(v, &mut c)).collect()
    }

    /// As [`Payload::copy_limited`], for the arguments `first..` (1-based) of a hot C call,
    /// read straight off the Lua stack; also gives their size as [`Payload::measure`]
    /// counts it (the copy counts it as it goes, so a send need not walk the copy again).
    ///
    /// # Errors
    /// As [`Payload::copy_limited`].
    pub fn copy_args(
        lua: &Lua,
        call: &Call<'_>,
        first: usize,
        depth: usize,
        bytes: usize,
    ) -> Result<Copied, CopyError> {
        if let Some(done) = copy::leaves(call.rest(first), bytes) {
            return done;
        }
        let mut out = SmallVec::new();
        let mut copier = Copier::new(depth, bytes);
        walk::args(lua, call, first, &mut copier, |p| out.push(p))?;
        Ok((out, copier.used()))
    }

    /// Rebuilds several payloads copied together, keeping tables shared between them.
    ///
    /// # Errors
    /// Only Lua allocation failures.
    pub fn to_lua_many(lua: &Lua, all: &[Payload]) -> mlua::Result<Vec<Value>> {
        build::many(lua, all)
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
        if let Some(v) = self.plain() {
            return Ok(v);
        }
        match self {
            Payload::Str(s) => Ok(Value::String(lua.create_string(s)?)),
            _ => build::one(lua, self),
        }
    }

    /// This value as a Lua value that needs no Lua state (`nil`, a boolean, a number).
    #[inline]
    pub fn plain(&self) -> Option<Value> {
        Some(match self {
            Payload::Nil => Value::Nil,
            Payload::Bool(b) => Value::Boolean(*b),
            Payload::Int(i) => Value::Integer(*i),
            Payload::Num(n) => Value::Number(*n),
            _ => return None,
        })
    }

    /// What a raw-mode receive gets for one message's payloads when that needs no Lua
    /// state: `nil` for none, the value of one [`Payload::plain`] payload.
    #[inline]
    pub fn lone_plain(all: &[Payload]) -> Option<Value> {
        match all {
            [] => Some(Value::Nil),
            [one] => one.plain(),
            _ => None,
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

    /// The size of several payloads (one message's) as [`Payload::measure`] counts it.
    pub fn size_of_all(all: &[Payload]) -> usize {
        all.iter().map(|p| p.measure().0).sum()
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Payload::Nil)
    }
}

/// Bytes a value counts for against the payload size limit, besides its string bytes.
pub const VALUE_COST_BYTES: usize = 16;

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
