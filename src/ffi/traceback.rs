//! Tracebacks in stock Lua's shape (`luaL_traceback`'s), where the runtime's own Lua code
//! shows as the C functions it stands for.
//!
//! The built-ins the prelude writes in Lua (`print`, `require`, `load`, `collectgarbage`,
//! `coroutine.wrap`…) are stripped functions (source `=?`). A run of consecutive frames of
//! such code, with the C functions it calls, stands for one call of a built-in by the frame
//! below it: it prints as one `[C]: in function 'NAME'` line, as stock's C built-in would.
//! NAME comes from the table the prelude registers under [`NAMES_KEY`] (function → stock
//! name), else from the call site. A run with no script frame below it (the code that starts
//! every process) is left out. Other frames print as `luaL_traceback` prints them.

use mlua::ffi::{self, lua_Debug, lua_State};
use std::ffi::{CStr, c_char, c_int};

/// Registry field of the table naming the runtime's built-ins (function → `"print"`,
/// `"coroutine.wrap"`…).
pub const NAMES_KEY: &str = "moonhost.builtin_names";
const NAMES_KEY_C: &CStr = c"moonhost.builtin_names";

/// Levels shown before and after the cut of a long traceback (lauxlib's LEVELS1, LEVELS2).
const LEVELS1: usize = 10;
const LEVELS2: usize = 11;

/// The key naming a prototype of the runtime's stripped code in the [`NAMES_KEY`] table.
pub fn prototype_key(line_defined: usize, last_line_defined: usize) -> String {
    format!("=?:{line_defined}:{last_line_defined}")
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    /// A frame of the script's code.
    Script,
    /// A frame of the runtime's stripped Lua code.
    Runtime,
    /// A C function.
    C,
}

/// One stack level, read by `lua_getinfo`.
struct Frame {
    kind: Kind,
    /// `short_src:line:` or `short_src:`.
    place: String,
    /// What follows `in `.
    name: String,
    /// A name for the built-in a run stands for, when this frame is its outermost frame.
    builtin: Option<String>,
    tail: bool,
}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: `p` is a NUL-terminated string lua_getinfo set (static, or owned by a string
    // the inspected function keeps alive) and is read before any other Lua call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The traceback of coroutine `co` from `level` (0: its running or suspended function),
/// after `msg` when given. Values are pushed on `l` (the running state, or the main state
/// between resumes; `co` itself when it is the caller) and popped again.
pub fn render(l: *mut lua_State, co: *mut lua_State, msg: Option<&str>, level: c_int) -> String {
    let mut out = String::new();
    if let Some(m) = msg {
        out.push_str(m);
        out.push('\n');
    }
    out.push_str("stack traceback:");
    // SAFETY: `l` and `co` are live states of one Lua instance (the caller's contract:
    // `l` running this Rust code, or not running Lua code at all). Nothing called here
    // raises: lua_getstack/lua_getinfo read call infos, lua_rawget/lua_next/lua_rawequal
    // read tables without metamethods, and every push is after lua_checkstack.
    let frames = unsafe {
        if ffi::lua_checkstack(l, 12) == 0 {
            return out;
        }
        let top = ffi::lua_gettop(l);
        let frames = read_frames(l, co, level);
        ffi::lua_settop(l, top);
        frames
    };
    let lines = collapse(&frames);
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if n > LEVELS1 + LEVELS2 + 1 && i >= LEVELS1 && i < n - LEVELS2 {
            if i == LEVELS1 {
                // As luaL_traceback, which also leaves out the level where it cuts.
                let skipped = n - LEVELS1 - LEVELS2 - 1;
                out.push_str(&format!("\n\t...\t(skipping {skipped} levels)"));
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The lines of `frames`, each run of runtime code folded into its built-in's line.
fn collapse(frames: &[Frame]) -> Vec<String> {
    let inside = |i: usize| {
        frames[i].kind == Kind::Runtime
            || (frames[i].kind == Kind::C
                && frames.get(i + 1).is_some_and(|f| f.kind == Kind::Runtime))
    };
    let mut lines = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        if !inside(i) {
            lines.push(line(&frames[i].place, &frames[i].name, frames[i].tail));
            i += 1;
            continue;
        }
        let mut j = i;
        while j < frames.len() && inside(j) {
            j += 1;
        }
        if j < frames.len() {
            let outer = &frames[j - 1];
            let name = outer.builtin.as_deref().unwrap_or("?");
            // A C function leaves no tail-call mark (the runtime's code tail-calls its helpers).
            lines.push(line("[C]:", name, false));
        }
        i = j;
    }
    lines
}

fn line(place: &str, name: &str, tail: bool) -> String {
    let mut s = format!("\n\t{place} in {name}");
    if tail {
        s.push_str("\n\t(...tail calls...)");
    }
    s
}

/// Reads the levels of `co` from `level` on.
///
/// # Safety
/// As in [`render`], with room for 12 values on `l`.
unsafe fn read_frames(l: *mut lua_State, co: *mut lua_State, level: c_int) -> Vec<Frame> {
    let mut frames = Vec::new();
    // SAFETY: per this function's contract; `ar` is a zeroed lua_Debug owned by this frame
    // that lua_getstack fills before lua_getinfo reads it.
    unsafe {
        let mut ar = std::mem::zeroed::<lua_Debug>();
        let mut lvl = level.max(0);
        while ffi::lua_getstack(co, lvl, &mut ar) != 0 {
            lvl += 1;
            if ffi::lua_getinfo(co, c"Slnt".as_ptr(), &mut ar) == 0 {
                continue;
            }
            let what = text(ar.what);
            let source = text(ar.source);
            let kind = if what == "C" {
                Kind::C
            } else if source == "=?" {
                Kind::Runtime
            } else {
                Kind::Script
            };
            let src = text(ar.short_src.as_ptr());
            let place = if ar.currentline <= 0 {
                format!("{src}:")
            } else {
                format!("{src}:{}:", ar.currentline)
            };
            let namewhat = text(ar.namewhat);
            let called = text(ar.name);
            // lua_getinfo with "f" on `l` pushes the function of `co`'s level (as lauxlib's
            // pushglobalfuncname does).
            ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar);
            let mut known = known_name(l);
            ffi::lua_pop(l, 1);
            if known.is_none() && kind == Kind::Runtime {
                let key = prototype_key(
                    usize::try_from(ar.linedefined).unwrap_or(0),
                    usize::try_from(ar.lastlinedefined).unwrap_or(0),
                );
                known = named(l, &key);
            }
            let from_code = (!namewhat.is_empty()).then(|| format!("{namewhat} '{called}'"));
            let name = match (&known, &from_code) {
                (Some(k), _) => format!("function '{k}'"),
                (None, Some(c)) => c.clone(),
                (None, None) if what == "main" => "main chunk".into(),
                (None, None) if what != "C" => format!("function <{src}:{}>", ar.linedefined),
                (None, None) => "?".into(),
            };
            // A built-in called as a global is one of stock's `_G` functions.
            let builtin = known.map(|k| format!("function '{k}'")).or_else(|| {
                from_code.map(|c| match namewhat.as_str() {
                    "global" => format!("function '{called}'"),
                    _ => c,
                })
            });
            frames.push(Frame {
                kind,
                place,
                name,
                builtin,
                tail: ar.istailcall != 0,
            });
        }
    }
    frames
}

/// The stock name of the function on top of `l`: from the runtime's table of built-ins, or
/// as lauxlib's `pushglobalfuncname` finds it in `package.loaded` (without `_G.`).
///
/// # Safety
/// `l` has the function on top and room for 8 more values; the stack is left as it was.
unsafe fn known_name(l: *mut lua_State) -> Option<String> {
    // SAFETY: per this function's contract; the registry has no metatable, so lua_getfield
    // on it is a raw read, and the tables read are plain tables walked with lua_next.
    unsafe {
        let f = ffi::lua_gettop(l);
        if ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, NAMES_KEY_C.as_ptr()) == ffi::LUA_TTABLE {
            ffi::lua_pushvalue(l, f);
            if ffi::lua_rawget(l, -2) == ffi::LUA_TSTRING {
                let name = string_at(l, -1);
                ffi::lua_settop(l, f);
                return Some(name);
            }
        }
        ffi::lua_settop(l, f);
        let mut found = None;
        if ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, ffi::LUA_LOADED_TABLE) == ffi::LUA_TTABLE {
            found = find_field(l, f, 2);
        }
        ffi::lua_settop(l, f);
        found.map(|n| n.strip_prefix("_G.").map(str::to_owned).unwrap_or(n))
    }
}

/// The name the [`NAMES_KEY`] table gives string key `key`.
///
/// # Safety
/// `l` has room for 3 more values; the stack is left as it was.
unsafe fn named(l: *mut lua_State, key: &str) -> Option<String> {
    // SAFETY: per this function's contract; the registry and the names table are plain
    // tables, and lua_pushlstring copies `key` (a short string: no error but memory).
    unsafe {
        let top = ffi::lua_gettop(l);
        let mut found = None;
        if ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, NAMES_KEY_C.as_ptr()) == ffi::LUA_TTABLE {
            ffi::lua_pushlstring(l, key.as_ptr() as *const c_char, key.len());
            if ffi::lua_rawget(l, -2) == ffi::LUA_TSTRING {
                found = Some(string_at(l, -1));
            }
        }
        ffi::lua_settop(l, top);
        found
    }
}

/// lauxlib's `findfield`: the dotted path (at most `depth` keys) under the table on top of
/// `l` to the value at index `obj`.
///
/// # Safety
/// A table is on top of `l`, with room for 2 more values per level of `depth`.
unsafe fn find_field(l: *mut lua_State, obj: c_int, depth: u32) -> Option<String> {
    if depth == 0 {
        return None;
    }
    // SAFETY: per this function's contract; lua_next walks the table on top with a nil
    // first key and the keys it returned, so it does not raise.
    unsafe {
        let t = ffi::lua_gettop(l);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, t) != 0 {
            if ffi::lua_type(l, -2) == ffi::LUA_TSTRING {
                if ffi::lua_rawequal(l, obj, -1) != 0 {
                    let key = string_at(l, -2);
                    ffi::lua_settop(l, t);
                    return Some(key);
                }
                if ffi::lua_type(l, -1) == ffi::LUA_TTABLE
                    && let Some(rest) = find_field(l, obj, depth - 1)
                {
                    let key = string_at(l, -2);
                    ffi::lua_settop(l, t);
                    return Some(format!("{key}.{rest}"));
                }
            }
            ffi::lua_pop(l, 1);
        }
        None
    }
}

/// The string at `idx` of `l` (which must be a string: no conversion, so nothing raises).
///
/// # Safety
/// `idx` is a valid index of `l` holding a string.
unsafe fn string_at(l: *mut lua_State, idx: c_int) -> String {
    // SAFETY: per this function's contract lua_tolstring returns the string's own bytes,
    // valid while it stays on the stack, and they are copied out at once.
    unsafe {
        let mut len = 0usize;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        if p.is_null() {
            return String::new();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
    }
}
