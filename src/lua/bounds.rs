//! Bounds on the C library calls a script can make long or huge (issue 11).
//!
//! The pattern functions (`string.find`, `match`, `gmatch`, `gsub`) are bounded while they
//! run: the patched matcher (`vendor/lua-src`, `ffi::pattern`) reports its steps to
//! `pattern_steps`, which charges them to the running slice (its instruction limit, its
//! progress, and where Lua cannot yield its stuck-in-C count), makes a process whose slice
//! is due yield right after the call, and stops a call past [`MAX_MATCH_STEPS`] with
//! `string.<name>: pattern too costly (...)`.
//!
//! The prelude wraps `string.rep`, `pack`, `packsize`, `unpack` and `table.move` with a
//! check from here that estimates the call's work in instruction-equivalents ("steps") from
//! its arguments (sizes: exact), refuses a call too large with a plain error, charges the
//! steps to the running slice and tells the wrapper to yield before the call when the slice
//! is used up; and it runs `collectgarbage` in bounded steps. Verdicts: `nil` run the call;
//! `true` yield first, then run it; a string: raise it; `false` (rep only): the result is
//! the empty string, return it without looping.

use crate::ffi;
use crate::preempt::{self, Charged, Fuel, INSTRUCTION_LIMIT};
use mlua::{Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// The most matcher steps one call of a pattern function may take (one `gmatch` iteration
/// counts as a call). A step is a pattern item tried, a character scanned by a repetition
/// or `%b`, a replacement made, or 256 bytes compared or copied: 10 to 19 ns of optimised C
/// on this machine (backtracking ~14 ns), so the bound is about 20 ms and two stopped calls
/// in a row stay under the 50 ms slice bound. A simple pattern costs 1 to 3 steps per byte
/// of subject: `gsub("\n", " ")` over 1 MiB of short lines takes ~1.3 million.
pub const MAX_MATCH_STEPS: u64 = 1_500_000;
/// The longest string `string.rep` or `string.pack` may build in one call.
pub const MAX_BUILD_BYTES: u64 = 64 << 20;
/// The most elements one `table.move` may move.
pub const MAX_MOVE_ELEMENTS: u64 = 1 << 22;
/// Steps one basic step of the collector is charged: about a millisecond of a debug build's
/// work on a heap of many small tables (a basic step visits a few hundred KiB).
const GC_STEP_STEPS: u64 = 100_000;
/// Cycle ends a script's full collection waits for: the first one completes the cycle
/// under way (which may have begun before the garbage became garbage), the second a whole
/// cycle begun inside the call.
const GC_CYCLES_PER_COLLECT: u32 = 2;
/// Bytes `string.rep` copies per step.
const COPY_BYTES_PER_STEP: u64 = 16;

/// The running slice's fuel, for the pattern matcher's step hook.
struct MatchFuel(Rc<Fuel>);

/// Adds `raw.bounds` (check functions by name) to the prelude's `raw` table, and bounds
/// the pattern matcher of `lua`.
pub fn open(lua: &Lua, raw: &Table, fuel: Rc<Fuel>) -> mlua::Result<()> {
    lua.set_app_data(MatchFuel(fuel.clone()));
    ffi::pattern::install(pattern_steps);
    ffi::tables::install();
    let t = lua.create_table()?;
    let f = fuel.clone();
    t.set(
        "rep",
        lua.create_function(
            move |lua, args: MultiValue| match rep_steps(lua, &f, &args) {
                Ok(Some(0)) => Ok(Value::Boolean(false)),
                other => verdict(lua, &f, other),
            },
        )?,
    )?;
    for name in ["pack", "packsize", "unpack"] {
        let fuel = fuel.clone();
        let f = lua.create_function(move |lua, args: MultiValue| {
            verdict(lua, &fuel, pack_steps(name, &args))
        })?;
        t.set(name, f)?;
    }
    let f = fuel.clone();
    t.set(
        "move",
        lua.create_function(move |lua, args: MultiValue| verdict(lua, &f, move_steps(&args)))?,
    )?;
    let f = fuel.clone();
    t.set(
        "collect",
        lua.create_function(move |lua, ends: u32| collect(lua, &f, ends))?,
    )?;
    t.set(
        "step",
        lua.create_function(move |lua, ()| {
            let done = preempt::collect_in_slice(lua, &fuel, || lua.gc_step())?;
            Ok((done, charge(lua, &fuel, GC_STEP_STEPS)?))
        })?,
    )?;
    raw.set("bounds", t)?;
    Ok(())
}

/// Charges `steps` (when the arguments could be read) and turns the outcome into a verdict.
fn verdict(lua: &Lua, fuel: &Fuel, steps: Result<Option<u64>, String>) -> mlua::Result<Value> {
    match steps {
        Err(e) => Ok(Value::String(lua.create_string(e)?)),
        Ok(None) => Ok(Value::Nil),
        Ok(Some(n)) => charge(lua, fuel, n),
    }
}

fn charge(lua: &Lua, fuel: &Fuel, steps: u64) -> mlua::Result<Value> {
    let left = fuel.budget.get();
    if left < steps {
        fuel.doomed.set(Some(INSTRUCTION_LIMIT));
        return Ok(Value::String(lua.create_string(INSTRUCTION_LIMIT)?));
    }
    fuel.budget.set(left - steps);
    match preempt::charge_slice(fuel, steps, ffi::is_yieldable(lua.state())) {
        Charged::Run => Ok(Value::Nil),
        Charged::Yield => Ok(Value::Boolean(true)),
        Charged::Doom(reason) => {
            fuel.doomed.set(Some(reason));
            Ok(Value::String(lua.create_string(reason)?))
        }
    }
}

/// `collectgarbage("collect")` in basic steps (`ends` cycle ends seen so far by this
/// call), each charged [`GC_STEP_STEPS`] after it ran, so a full collection over a huge
/// heap spreads over as many slices as it needs instead of holding the thread: returns the
/// cycle ends seen and a verdict: `nil` done, `true` yield and call again, a string raise.
/// Where Lua cannot yield the steps go on until done or until the process is stuck.
fn collect(lua: &Lua, fuel: &Fuel, mut ends: u32) -> mlua::Result<(u32, Value)> {
    loop {
        if preempt::collect_in_slice(lua, fuel, || lua.gc_step())? {
            ends += 1;
            if ends >= GC_CYCLES_PER_COLLECT {
                return Ok((ends, Value::Nil));
            }
        }
        match charge(lua, fuel, GC_STEP_STEPS)? {
            Value::Nil => {}
            other => return Ok((ends, other)),
        }
    }
}

fn nth(args: &MultiValue, n: usize) -> Option<&Value> {
    args.get(n - 1)
}

fn bytes_len(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::String(s) => Some(s.as_bytes().len() as u64),
        Value::Integer(i) => Some(i.to_string().len() as u64),
        Value::Number(n) => Some(n.to_string().len() as u64),
        _ => None,
    }
}

fn integer(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Integer(i) => Some(*i),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => Some(*n as i64),
        _ => None,
    }
}

/// `string.rep(s, n [, sep])`: the bytes it copies; 0 when the result is empty.
fn rep_steps(lua: &Lua, fuel: &Fuel, args: &MultiValue) -> Result<Option<u64>, String> {
    let (Some(len), Some(n)) = (bytes_len(nth(args, 1)), integer(nth(args, 2))) else {
        return Ok(None); // stock Lua reports the bad argument
    };
    if n <= 0 {
        return Ok(Some(0));
    }
    let sep = match nth(args, 3) {
        None | Some(Value::Nil) => 0,
        v => match bytes_len(v) {
            Some(l) => l,
            None => return Ok(None),
        },
    };
    let n = n as u64;
    let total = len
        .checked_mul(n)
        .and_then(|t| sep.checked_mul(n - 1).and_then(|s| t.checked_add(s)));
    match total {
        Some(0) => Ok(Some(0)),
        Some(t) if t <= MAX_BUILD_BYTES => Ok(Some(1 + t / COPY_BYTES_PER_STEP)),
        // Over what the process may still allocate: the allocator refuses it at once with
        // the usual memory-limit error.
        Some(t) if t > heap_left(lua, fuel) => Ok(None),
        _ => Err(format!(
            "string.rep: resulting string too large (at most {} MiB per call)",
            MAX_BUILD_BYTES >> 20
        )),
    }
}

fn heap_left(lua: &Lua, fuel: &Fuel) -> u64 {
    let grown = crate::ffi::heap::used(lua).saturating_sub(fuel.mem_base.get());
    fuel.mem_allowance.get().saturating_sub(grown) as u64
}

/// `string.pack`/`packsize`/`unpack`: refuses a field size over [`MAX_BUILD_BYTES`]
/// (`"c9223372036854775807"` would ask for an exabyte).
fn pack_steps(name: &str, args: &MultiValue) -> Result<Option<u64>, String> {
    let Some(Value::String(fmt)) = nth(args, 1) else {
        return Ok(None);
    };
    let fmt = fmt.as_bytes();
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i].is_ascii_digit() {
            let start = i;
            let mut v: u64 = 0;
            while i < fmt.len() && fmt[i].is_ascii_digit() {
                v = v
                    .saturating_mul(10)
                    .saturating_add(u64::from(fmt[i] - b'0'));
                i += 1;
            }
            if v > MAX_BUILD_BYTES {
                let field = String::from_utf8_lossy(&fmt[start..i]);
                return Err(format!(
                    "string.{name}: field size {field} too large (at most {} MiB)",
                    MAX_BUILD_BYTES >> 20
                ));
            }
        } else {
            i += 1;
        }
    }
    Ok(Some(1 + fmt.len() as u64))
}

/// `table.move(a1, f, e, t [, a2])`: one step per element; refuses more than
/// [`MAX_MOVE_ELEMENTS`].
fn move_steps(args: &MultiValue) -> Result<Option<u64>, String> {
    let (Some(f), Some(e)) = (integer(nth(args, 2)), integer(nth(args, 3))) else {
        return Ok(None);
    };
    if e < f {
        return Ok(Some(1));
    }
    let count = (e as i128 - f as i128 + 1) as u128;
    if count > u128::from(MAX_MOVE_ELEMENTS) {
        return Err(format!(
            "table.move: too many elements to move ({count}, at most {MAX_MOVE_ELEMENTS} per call)"
        ));
    }
    Ok(Some(count as u64))
}

/// The matcher's step hook ([`ffi::pattern::StepCheck`]): `steps` more in the running call
/// of `string.<what>` on coroutine `state`, `call_steps` in all. Returns the message to
/// raise in the call, if any: the doomed process's reason (instruction limit, stuck where
/// it cannot yield), or `pattern too costly` for a call past [`MAX_MATCH_STEPS`].
fn pattern_steps(
    lua: &Lua,
    state: *mut mlua::ffi::lua_State,
    what: &'static str,
    steps: u64,
    call_steps: u64,
) -> Option<&'static str> {
    let fuel = lua.app_data_ref::<MatchFuel>()?;
    let fuel = &fuel.0;
    if let Some(reason) = fuel.doomed.get() {
        return Some(reason);
    }
    let left = fuel.budget.get();
    if left < steps {
        fuel.doomed.set(Some(INSTRUCTION_LIMIT));
        return Some(INSTRUCTION_LIMIT);
    }
    fuel.budget.set(left - steps);
    if ffi::is_yieldable(state) {
        preempt::charge_c_work(fuel, state, steps);
    } else if let Charged::Doom(reason) = preempt::charge_slice(fuel, steps, false) {
        fuel.doomed.set(Some(reason));
        return Some(reason);
    }
    (call_steps > MAX_MATCH_STEPS).then(|| too_costly(what))
}

/// `string.<what>: pattern too costly (...)`.
fn too_costly(what: &str) -> &'static str {
    macro_rules! msg {
        ($name:literal) => {
            concat!(
                "string.",
                $name,
                ": pattern too costly (its matching took over 1500000 steps in one call)"
            )
        };
    }
    match what {
        "find" => msg!("find"),
        "gmatch" => msg!("gmatch"),
        "gsub" => msg!("gsub"),
        _ => msg!("match"),
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_MATCH_STEPS, too_costly};

    #[test]
    fn too_costly_names_the_function_and_the_bound() {
        for what in ["find", "match", "gmatch", "gsub"] {
            let msg = too_costly(what);
            assert!(msg.starts_with(&format!("string.{what}: pattern too costly")));
            assert!(
                msg.contains(&format!("over {MAX_MATCH_STEPS} steps")),
                "{msg}"
            );
        }
    }
}
