//! `time.timer` and `time.ticker` objects as plain Lua userdata: a 24-byte block holding a
//! tag, the id of the timer's channel and the ticker's period, whose one user value is the
//! channel object, made on the first `:channel()` (the core's channel record exists from
//! arming on, so a firing before that waits in its buffer). The hot bindings build one on
//! the Lua stack with one allocation (no mlua handle, no protected call) and read one back
//! with three loads. A clock collected before its channel object was made hands the
//! channel's id to the graveyard itself (`__gc`), as the channel object would have.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use super::chan::Bury;
use mlua::{Function, Lua, Table, Value, ffi};
use std::ffi::{c_int, c_void};

/// First word of a timer object's block.
const TIMER_TAG: u64 = 0x6d6f_6f6e_7469_6d72; // "moontimr"
/// First word of a ticker object's block.
const TICKER_TAG: u64 = 0x6d6f_6f6e_7469_636b; // "moontick"
/// Size of the block: the tag, the channel id and the period.
const SIZE: usize = 24;

/// Registry keys of the two metatables (the addresses of these statics).
static TIMER_KEY: u8 = 0;
static TICKER_KEY: u8 = 0;

fn key(ticker: bool) -> *const c_void {
    let k: &'static u8 = if ticker { &TICKER_KEY } else { &TIMER_KEY };
    k as *const u8 as *const c_void
}

/// A timer or ticker object read off the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Whether it is a ticker (else a timer).
    pub ticker: bool,
    /// The channel id's bits (`ffi::chan`).
    pub chan: u64,
    /// A ticker's period in nanoseconds (0 for a timer).
    pub period: u64,
}

/// What a hot binding made, for its trampoline to push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    /// A channel object (`ffi::chan`) for the id's bits.
    Chan(u64),
    /// A timer or ticker object (its channel object is made on demand).
    Clock(Clock),
}

/// Installs the metatables of timer and ticker objects: `__index` the method table,
/// `__name` `"timer"`/`"ticker"`, `__tostring` the given function, `__metatable = false`
/// and a `__gc` that calls `bury` with the channel's id when no channel object was made.
///
/// # Errors
/// Only Lua allocation failures.
pub fn register(
    lua: &Lua,
    timer: (Table, Function),
    ticker: (Table, Function),
    bury: Bury,
) -> mlua::Result<()> {
    for (is_ticker, (methods, tostring)) in [(false, timer), (true, ticker)] {
        let mt = lua.create_table()?;
        mt.raw_set("__index", methods)?;
        mt.raw_set("__name", if is_ticker { "ticker" } else { "timer" })?;
        mt.raw_set("__tostring", tostring)?;
        mt.raw_set("__metatable", false)?;
        // SAFETY: exec_raw runs the closure in a protected call with `mt` pushed at index 1:
        // it makes the `__gc` C closure over `bury` (a light userdata), stores it in `mt`,
        // and lua_rawsetp pops `mt` into the registry under this kind's key.
        unsafe {
            lua.exec_raw::<()>(mt, |state| {
                ffi::lua_pushlightuserdata(state, bury as *mut c_void);
                ffi::lua_pushcclosure(state, collect, 1);
                ffi::lua_setfield(state, -2, c"__gc".as_ptr());
                ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, key(is_ticker));
            })?;
        }
    }
    Ok(())
}

/// `__gc` of timer and ticker objects: buries the channel's id when no channel object was
/// made (a made one is the user value, collected with or after the clock, and buries it).
unsafe extern "C-unwind" fn collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua's collector with the object at index 1 and `bury`, stored by
    // `register` from a `Bury` of this very type, as upvalue 1; `read_at` checks the object
    // is a clock, whose one user value lua_getiuservalue pushes (and lua_pop removes). A
    // panic in `bury` is caught here: it must not unwind through the collector.
    unsafe {
        if let Some(c) = read_at(l, 1) {
            let made = ffi::lua_getiuservalue(l, 1, 1) != ffi::LUA_TNIL;
            ffi::lua_pop(l, 1);
            if !made {
                let f = ffi::lua_touserdata(l, ffi::lua_upvalueindex(1));
                let bury = std::mem::transmute::<*mut c_void, Bury>(f);
                let lua = Lua::get_or_init_from_ptr(l);
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bury(lua, c.chan)));
            }
        }
        0
    }
}

/// Pushes what a binding made on `state`.
///
/// # Safety
/// `state` is a running coroutine with two free stack slots; the call may raise a memory
/// error, so the caller's frame holds nothing to drop.
pub(super) unsafe fn push(state: *mut ffi::lua_State, made: Made) {
    // SAFETY: the channel object is pushed by `chan::push_object`; the clock's block of SIZE
    // bytes is u64-aligned (Lua aligns userdata to its maximal alignment) and filled before
    // anything else can see it; its one user value starts as nil (no channel object yet).
    unsafe {
        match made {
            Made::Chan(bits) => super::chan::push_object(state, bits),
            Made::Clock(c) => {
                let block = ffi::lua_newuserdatauv(state, SIZE, 1) as *mut u64;
                block.write(if c.ticker { TICKER_TAG } else { TIMER_TAG });
                block.add(1).write(c.chan);
                block.add(2).write(c.period);
                if ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, key(c.ticker)) == ffi::LUA_TTABLE
                {
                    ffi::lua_setmetatable(state, -2);
                } else {
                    ffi::lua_pop(state, 1);
                }
            }
        }
    }
}

/// Pushes the channel object of the clock at `idx` (whose channel id is `bits`), making
/// it and storing it as the clock's user value on the first call, so every call returns
/// the same object.
///
/// # Safety
/// `idx` is a valid index of `state` holding a clock (`read_at` said so), and `state` has
/// three free stack slots; making the object may raise a memory error, so the caller's
/// frame holds nothing to drop.
pub(super) unsafe fn push_channel(state: *mut ffi::lua_State, idx: c_int, bits: u64) {
    // SAFETY: `idx` is made absolute before anything is pushed; the clock has one user
    // value slot, which lua_setiuservalue fills with a copy of the new object (leaving the
    // object itself on top).
    unsafe {
        let idx = ffi::lua_absindex(state, idx);
        if ffi::lua_getiuservalue(state, idx, 1) != ffi::LUA_TNIL {
            return;
        }
        ffi::lua_pop(state, 1);
        super::chan::push_object(state, bits);
        ffi::lua_pushvalue(state, -1);
        ffi::lua_setiuservalue(state, idx, 1);
    }
}

/// A new object for what a binding made, as an mlua value (for the slow bindings).
///
/// # Errors
/// Lua allocation failures.
pub fn new(lua: &Lua, made: Made) -> mlua::Result<Value> {
    // SAFETY: exec_raw's protected call has room for the values `push` uses and returns the
    // object it leaves on top.
    unsafe { lua.exec_raw::<Value>((), |state| push(state, made)) }
}

/// The timer or ticker object at `idx` of `state`, if it is one.
///
/// # Safety
/// `idx` is a valid index of `state`.
pub(super) unsafe fn read_at(state: *mut ffi::lua_State, idx: c_int) -> Option<Clock> {
    // SAFETY: a full userdata's block and length, as `decode` needs them.
    unsafe {
        if ffi::lua_type(state, idx) != ffi::LUA_TUSERDATA {
            return None;
        }
        decode(
            ffi::lua_touserdata(state, idx) as *const u64,
            ffi::lua_rawlen(state, idx),
        )
    }
}

/// The clock in full userdata block `block` of `len` bytes, if it is a timer or ticker
/// object's.
///
/// # Safety
/// `block` is the start of a full userdata's block of `len` bytes.
pub(super) unsafe fn decode(block: *const u64, len: usize) -> Option<Clock> {
    // SAFETY: the three words are read only when the block is exactly SIZE bytes long; the
    // tag tells a clock from other 24-byte userdata.
    unsafe {
        if len != SIZE {
            return None;
        }
        let ticker = match block.read() {
            TIMER_TAG => false,
            TICKER_TAG => true,
            _ => return None,
        };
        Some(Clock {
            ticker,
            chan: block.add(1).read(),
            period: block.add(2).read(),
        })
    }
}

/// The clock inside `v`, if it is a timer or ticker object.
pub fn read(lua: &Lua, v: &Value) -> Option<Clock> {
    // SAFETY: `read_at` only reads the pushed value.
    unsafe { super::with_userdata_at(lua, v, |s| read_at(s, -1)) }
}

/// The channel object of the clock `v` (its user value, made on the first call), if `v`
/// is a timer or ticker.
pub fn channel_of(lua: &Lua, v: &Value) -> Option<Value> {
    let c = read(lua, v)?;
    // SAFETY: exec_raw's protected call has `v` (a clock, checked above) at index 1 and
    // room for `push_channel`; `v` is removed, leaving the channel as the result.
    unsafe {
        lua.exec_raw::<Value>(v, |state| {
            push_channel(state, 1, c.chan);
            ffi::lua_remove(state, 1);
        })
    }
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua_with_types() -> Lua {
        let lua = Lua::new();
        let tostring = lua.create_function(|_, ()| Ok("clock")).unwrap();
        register(
            &lua,
            (lua.create_table().unwrap(), tostring.clone()),
            (lua.create_table().unwrap(), tostring),
            |_, _| {},
        )
        .unwrap();
        lua
    }

    fn made(lua: &Lua, m: Made) -> Value {
        new(lua, m).unwrap()
    }

    #[test]
    fn a_pushed_clock_reads_back_with_its_channel_as_user_value() {
        let lua = lua_with_types();
        let c = Clock {
            ticker: true,
            chan: 0x1234_0000_0007,
            period: 5_000,
        };
        let v = made(&lua, Made::Clock(c));
        assert_eq!(read(&lua, &v), Some(c));
        let ch = channel_of(&lua, &v).unwrap();
        assert_eq!(super::super::chan::id_of(&lua, &ch), Some(c.chan));
        let name: String = lua
            .load("local t = ... return getmetatable(t) == false and type(t)")
            .call(v)
            .unwrap();
        assert_eq!(name, "userdata");
    }

    thread_local! {
        static BURIED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    fn lua_burying() -> Lua {
        let lua = Lua::new();
        let tostring = lua.create_function(|_, ()| Ok("clock")).unwrap();
        let bury: Bury = |_, bits| BURIED.with(|b| b.borrow_mut().push(bits));
        register(
            &lua,
            (lua.create_table().unwrap(), tostring.clone()),
            (lua.create_table().unwrap(), tostring),
            bury,
        )
        .unwrap();
        lua
    }

    fn clock(chan: u64) -> Made {
        Made::Clock(Clock {
            ticker: false,
            chan,
            period: 0,
        })
    }

    #[test]
    fn the_channel_object_is_made_once_on_demand() {
        let lua = lua_with_types();
        let v = made(&lua, clock(42));
        let a = channel_of(&lua, &v).unwrap();
        let b = channel_of(&lua, &v).unwrap();
        assert_eq!(super::super::chan::id_of(&lua, &a), Some(42));
        let same: bool = lua
            .load("local a, b = ... return rawequal(a, b)")
            .call((a, b))
            .unwrap();
        assert!(same, "a second channel() made another object");
    }

    #[test]
    fn a_clock_collected_before_its_channel_was_made_buries_the_channel() {
        let lua = lua_burying();
        BURIED.with(|b| b.borrow_mut().clear());
        drop(made(&lua, clock(7)));
        let kept = made(&lua, clock(8));
        let v = made(&lua, clock(9));
        let ch = channel_of(&lua, &v).unwrap();
        drop((v, ch));
        lua.gc_collect().unwrap();
        lua.gc_collect().unwrap();
        // 9's channel object buries 9 (it has no metatable here, so nothing does).
        assert_eq!(BURIED.with(|b| b.borrow().clone()), [7]);
        drop(kept);
        lua.gc_collect().unwrap();
        assert_eq!(BURIED.with(|b| b.borrow().clone()), [7, 8]);
    }

    #[test]
    fn other_userdata_and_channels_are_no_clocks() {
        let lua = lua_with_types();
        let ch = made(&lua, Made::Chan(9));
        assert_eq!(read(&lua, &ch), None);
        let blob: Value = lua.load("return io and 1 or 2").eval().unwrap();
        assert_eq!(read(&lua, &blob), None);
        let other = Value::UserData(lua.create_any_userdata([0u64; 3]).unwrap());
        assert_eq!(read(&lua, &other), None);
        assert!(channel_of(&lua, &other).is_none());
    }
}
