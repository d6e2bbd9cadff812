//! Building a Lua value graph from a copied one with the C API, for rebuilding payloads in
//! the receiving process (`payload`'s `Payload` is the [`Source`]): one raw `lua_pcall` per
//! rebuild, tables made with `lua_createtable` pre-sized from the copy, integer keys stored
//! with `lua_rawseti`, no mlua handle but one per result.
//!
//! Tables a reference points back to (shared ones and cycles) are kept, by id, in a scratch
//! table on the stack while the rebuild runs, and only those: a reference to a table not
//! kept, or not built yet, is `nil`. The frames here hold nothing with a destructor, so an
//! error the C API raises (out of memory, a nil or NaN key in a hand-made payload) unwinds
//! to the protected call and comes back as an `Err`.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use mlua::{Lua, Value, ffi};
use std::ffi::{c_int, c_void};

/// One node of a graph to build.
#[derive(Debug)]
pub enum Shape<'a, S> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string's bytes.
    Str(&'a [u8]),
    /// A table: its id, how many of its keys are integers (sizes the array part; the other
    /// entries size the hash part), and its pairs in the order to store them.
    Table {
        /// The id references use.
        id: u32,
        /// Integer keys among the entries.
        narr: u32,
        /// Key/value pairs.
        entries: &'a [(S, S)],
    },
    /// The table with this id, built earlier.
    Ref(u32),
}

/// A graph that can be built: each node tells its shape.
pub trait Source: Sized {
    /// What this node is.
    fn shape(&self) -> Shape<'_, Self>;
}

/// Builds `root`; `keep` (sorted) lists the ids of tables that references point to.
///
/// # Errors
/// Lua allocation failures; a nil or NaN key.
pub fn one<S: Source>(lua: &Lua, root: &S, keep: &[u32]) -> mlua::Result<Value> {
    let mut out = Value::Nil;
    protected(lua, std::slice::from_ref(root), keep, |v| out = v)?;
    Ok(out)
}

/// Builds every root of `roots`, as one graph (references may cross between them).
///
/// # Errors
/// As [`one`].
pub fn many<S: Source>(lua: &Lua, roots: &[S], keep: &[u32]) -> mlua::Result<Vec<Value>> {
    let mut out = Vec::with_capacity(roots.len());
    protected(lua, roots, keep, |v| out.push(v))?;
    Ok(out)
}

/// Roots to build on the stack of the task they are handed to ([`super::resume::Push::Take`]):
/// the same graph [`one`] or [`many`] builds, with `true` after it (a receive's `value, ok`),
/// made without a protected call or an mlua handle.
#[derive(Debug)]
pub struct Handoff<S> {
    /// The values: one root is the value itself, several are put in an array.
    pub roots: smallvec::SmallVec<[S; 1]>,
    /// Ids of the tables references point to, sorted.
    pub keep: smallvec::SmallVec<[u32; 8]>,
}

impl<S: Source + std::fmt::Debug> super::resume::Deferred for Handoff<S> {
    unsafe fn push(&self, l: *mut ffi::lua_State) -> c_int {
        // SAFETY: as `Deferred::push` promises: `l` runs with LUA_MINSTACK free slots
        // (checked again per table), and a raise unwinds to its own handler through frames
        // that hold nothing to drop.
        unsafe {
            let scratch = open_scratch(l, &self.keep);
            match self.roots.as_slice() {
                [] => ffi::lua_pushnil(l),
                [one] => push(l, one, scratch, &self.keep),
                many => {
                    let n = many.len().min(c_int::MAX as usize) as c_int;
                    ffi::lua_createtable(l, n, 0);
                    let t = ffi::lua_gettop(l);
                    for (i, r) in many.iter().enumerate() {
                        push(l, r, scratch, &self.keep);
                        ffi::lua_rawseti(l, t, i as ffi::lua_Integer + 1);
                    }
                }
            }
            if scratch != 0 {
                ffi::lua_remove(l, scratch);
            }
            ffi::lua_pushboolean(l, 1);
            2
        }
    }
}

/// Pushes `v` built (a table kept under its id when `keep` lists it) on `l`.
///
/// # Safety
/// As [`super::resume::Deferred::push`]: `l` runs with a free slot, and a raise unwinds to
/// its own handler through frames that hold nothing to drop.
pub(super) unsafe fn push_value<S: Source>(l: *mut ffi::lua_State, v: &S, keep: &[u32]) {
    // SAFETY: as the caller promises; the scratch table (when some tables are kept) sits
    // under the value until it is removed.
    unsafe {
        let scratch = open_scratch(l, keep);
        push(l, v, scratch, keep);
        if scratch != 0 {
            ffi::lua_remove(l, scratch);
        }
    }
}

/// What [`run`] builds.
struct Job<'a, S> {
    roots: &'a [S],
    keep: &'a [u32],
}

/// Runs [`run`] in a protected call on mlua's current state and hands its results, in
/// order, to `take` as handles.
fn protected<S: Source>(
    lua: &Lua,
    roots: &[S],
    keep: &[u32],
    take: impl FnMut(Value),
) -> mlua::Result<()> {
    let job = Job { roots, keep };
    let job = &job as *const Job<'_, S> as *mut c_void;
    // SAFETY: `run::<S>` reads its light userdata as the `Job<S>` passed here, which lives
    // on this frame past the call, and raises only with nothing of its own to drop.
    unsafe { super::pcall::call(lua, run::<S>, job, &Value::Nil, "building a payload", take) }
}

/// The protected body: builds the job's roots and returns them.
unsafe extern "C-unwind" fn run<S: Source>(s: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by `protected` through `pcall::call` with the job as its first argument
    // (a light userdata pointing to a live `Job<S>`); a raise from here unwinds to that pcall,
    // and these frames hold nothing with a destructor. The argument is removed from under
    // the results before returning them.
    unsafe {
        let job = &*(ffi::lua_touserdata(s, 1) as *const Job<'_, S>);
        let scratch = open_scratch(s, job.keep);
        for r in job.roots {
            ffi::luaL_checkstack(s, 2, c"payload has too many values".as_ptr());
            push(s, r, scratch, job.keep);
        }
        if scratch != 0 {
            ffi::lua_remove(s, scratch);
        }
        // The job and the unused second argument go from under the results.
        ffi::lua_remove(s, 1);
        ffi::lua_remove(s, 1);
        job.roots.len() as c_int
    }
}

/// Pushes the scratch table when some tables are to be kept; its index, or 0.
///
/// # Safety
/// Inside a protected call on `s`, with a free slot.
unsafe fn open_scratch(s: *mut ffi::lua_State, keep: &[u32]) -> c_int {
    if keep.is_empty() {
        return 0;
    }
    // SAFETY: as the caller promises.
    unsafe {
        ffi::lua_createtable(s, keep.len().min(c_int::MAX as usize) as c_int, 0);
        ffi::lua_gettop(s)
    }
}

/// Pushes `v`, built.
///
/// # Safety
/// Inside a protected call on `s`, with a free slot; `scratch` is 0 or the scratch table's
/// absolute index.
unsafe fn push<S: Source>(s: *mut ffi::lua_State, v: &S, scratch: c_int, keep: &[u32]) {
    // SAFETY: as the caller promises; the string is copied by Lua.
    unsafe {
        match v.shape() {
            Shape::Nil => ffi::lua_pushnil(s),
            Shape::Bool(b) => ffi::lua_pushboolean(s, c_int::from(b)),
            Shape::Int(i) => ffi::lua_pushinteger(s, i),
            Shape::Num(n) => ffi::lua_pushnumber(s, n),
            Shape::Str(b) => {
                ffi::lua_pushlstring(s, b.as_ptr() as *const _, b.len());
            }
            Shape::Ref(id) if scratch != 0 => {
                ffi::lua_rawgeti(s, scratch, ffi::lua_Integer::from(id) + 1);
            }
            Shape::Ref(_) => ffi::lua_pushnil(s),
            Shape::Table { id, narr, entries } => table(s, id, narr, entries, scratch, keep),
        }
    }
}

/// Pushes a new table holding `entries`, kept under `id` when `keep` lists it.
///
/// # Safety
/// As [`push`].
unsafe fn table<S: Source>(
    s: *mut ffi::lua_State,
    id: u32,
    narr: u32,
    entries: &[(S, S)],
    scratch: c_int,
    keep: &[u32],
) {
    let narr = (narr as usize).min(entries.len());
    let nrec = entries.len() - narr;
    let size = |n: usize| n.min(c_int::MAX as usize) as c_int;
    // SAFETY: as the caller promises. luaL_checkstack raises (inside the protected call)
    // when the stack cannot hold the table, a key and a value; the table stays at `t` while
    // its pairs are pushed and stored above it.
    unsafe {
        ffi::luaL_checkstack(s, 3, c"payload nested too deeply".as_ptr());
        ffi::lua_createtable(s, size(narr), size(nrec));
        let t = ffi::lua_gettop(s);
        if scratch != 0 && keep.binary_search(&id).is_ok() {
            ffi::lua_pushvalue(s, t);
            ffi::lua_rawseti(s, scratch, ffi::lua_Integer::from(id) + 1);
        }
        for (k, v) in entries {
            if let Shape::Int(i) = k.shape() {
                push(s, v, scratch, keep);
                ffi::lua_rawseti(s, t, i);
            } else {
                push(s, k, scratch, keep);
                push(s, v, scratch, keep);
                ffi::lua_rawset(s, t);
            }
        }
    }
}
