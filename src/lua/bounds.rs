//! Bounds on the C library calls a script can make long or huge (issue 11): the prelude
//! wraps `string.rep`, `find`, `match`, `gmatch`, `gsub`, `pack`, `packsize`, `unpack`,
//! `table.move` with a check from here, and runs `collectgarbage` in bounded steps. A check estimates the call's
//! work in instruction-equivalents ("steps"), refuses a call over [`MAX_CALL_STEPS`] with a
//! plain error, charges the steps to the running slice (its instruction limit, its slice
//! and its stuck-in-C count) and tells the wrapper to yield before the call when the slice
//! is used up, so no slice holds the thread for one call more than its own share.
//!
//! Verdicts: `nil` run the call; `true` yield first, then run it; a string: raise it;
//! `false` (rep only): the result is the empty string, return it without looping.

use crate::ffi;
use crate::preempt::{self, Charged, Fuel, INSTRUCTION_LIMIT};
use mlua::{Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// The most steps one bounded call may take (about 30 ms of C work on this machine).
pub const MAX_CALL_STEPS: u64 = 10_000_000;
/// Steps the matcher takes per start position and level of backtracking.
const STEPS_PER_POSITION: u64 = 4;
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

/// Adds `raw.bounds` (check functions by name) to the prelude's `raw` table.
pub fn open(lua: &Lua, raw: &Table, fuel: Rc<Fuel>) -> mlua::Result<()> {
    let t = lua.create_table()?;
    for name in ["find", "match", "gmatch", "gsub"] {
        let fuel = fuel.clone();
        let f = lua.create_function(move |lua, args: MultiValue| {
            verdict(lua, &fuel, pattern_steps(name, &args))
        })?;
        t.set(name, f)?;
    }
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
    let grown = lua.used_memory().saturating_sub(fuel.mem_base.get());
    fuel.mem_allowance.get().saturating_sub(grown) as u64
}

/// The pattern functions: subject length `n` raised to the pattern's backtracking depth
/// (see [`depth`]), times [`STEPS_PER_POSITION`].
fn pattern_steps(name: &str, args: &MultiValue) -> Result<Option<u64>, String> {
    let (Some(n), Some(Value::String(p))) = (bytes_len(nth(args, 1)), nth(args, 2)) else {
        return Ok(None);
    };
    let p = p.as_bytes();
    let plain = name == "find"
        && matches!(nth(args, 4), Some(v) if !matches!(v, Value::Nil | Value::Boolean(false)));
    if plain || !p.iter().any(|b| b"^$*+?.([%-".contains(b)) {
        return Ok(Some(1 + n / COPY_BYTES_PER_STEP));
    }
    let every_match = matches!(name, "gmatch" | "gsub");
    let k = depth(&p, every_match);
    let mut steps = STEPS_PER_POSITION;
    for _ in 0..k {
        steps = steps.saturating_mul(n.max(1));
    }
    if steps > MAX_CALL_STEPS {
        return Err(format!(
            "string.{name}: pattern too costly for a subject of {n} bytes (its backtracking \
             could take about {steps} steps, at most {MAX_CALL_STEPS} per call)"
        ));
    }
    Ok(Some(steps))
}

/// How many factors of the subject length a match may cost: one for the start positions
/// (none when anchored, or for gmatch/gsub whose matches consume the subject), plus one per
/// quantifier (`*`, `+`, `-`) on `.`, which can backtrack over the whole subject.
fn depth(p: &[u8], every_match: bool) -> u32 {
    let anchored = p.first() == Some(&b'^');
    let mut k: u32 = u32::from(!(anchored || every_match));
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'%' => i += 1,
            b'[' => {
                // skip a set: its first ']' (or '^]') is literal
                i += 1;
                if p.get(i) == Some(&b'^') {
                    i += 1;
                }
                i += 1;
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'%' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'.' if matches!(p.get(i + 1), Some(b'*' | b'+' | b'-')) => {
                k += 1;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    k.max(1)
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

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn depth_counts_backtracking_quantifiers_on_any_char() {
        assert_eq!(depth(b"[y]", false), 1);
        assert_eq!(depth(b".-.-.-b", false), 4);
        assert_eq!(depth(b"^%s*(.-)%s*$", false), 1);
        assert_eq!(depth(b"(.-)\n", true), 1);
        assert_eq!(depth(b"[.-]x", false), 1);
        assert_eq!(depth(b"%.-", false), 1);
    }
}
