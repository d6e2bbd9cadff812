//! `Display` for [`Payload`]: a payload prints as the Lua literal that would
//! rebuild it (SPEC §13.2), so a host's logs read like the script's values.
//!
//! Strings are quoted with Lua escapes (`"bye"`), floats always show as floats (`1.0`,
//! `math.huge`, `0/0`), tables list positions 1..n first and then the other keys sorted
//! (numbers, then strings, then booleans): `{10, 20, dx = 1, ["two words"] = true}`. A table
//! shared inside one payload prints in full at every place it appears; a reference back to an
//! enclosing table (a cycle) prints as `<cycle>`, and printing stops with `...` after
//! [`EXPAND_LIMIT_VALUES`] more values than the payload holds.

use super::codec::{EXPAND_LIMIT_VALUES, index_and_count};
use super::{PTable, Payload};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::{self, Write};

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Table(_) | Payload::Ref(_) => {
                let mut index = HashMap::new();
                let held = index_and_count(self, &mut index);
                let mut p = Printer {
                    index,
                    stack: Vec::new(),
                    budget: held.saturating_add(EXPAND_LIMIT_VALUES),
                };
                p.value(f, self)
            }
            scalar => write_scalar(f, scalar),
        }
    }
}

fn write_scalar(f: &mut fmt::Formatter<'_>, p: &Payload) -> fmt::Result {
    match p {
        Payload::Nil => f.write_str("nil"),
        Payload::Bool(b) => write!(f, "{b}"),
        Payload::Int(i) => write!(f, "{i}"),
        Payload::Num(n) => write_float(f, *n),
        Payload::Str(s) => write_string(f, s),
        Payload::Table(_) | Payload::Ref(_) => f.write_str("<table>"),
    }
}

fn write_float(f: &mut fmt::Formatter<'_>, n: f64) -> fmt::Result {
    if n.is_nan() {
        f.write_str("0/0")
    } else if n.is_infinite() {
        f.write_str(if n > 0.0 { "math.huge" } else { "-math.huge" })
    } else {
        // Debug is the shortest text that reads back as the same float, and it always has
        // a `.` or an exponent, which keeps `1.0` a float when Lua reads it.
        write!(f, "{n:?}")
    }
}

/// A Lua string literal: printable text as is, the usual escapes, other bytes as `\ddd`.
fn write_string(f: &mut fmt::Formatter<'_>, s: &[u8]) -> fmt::Result {
    f.write_char('"')?;
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\{:03}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\{b:03}")?;
        }
    }
    f.write_char('"')
}

const LUA_KEYWORDS: [&str; 22] = [
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Whether `name = v` may be written instead of `["name"] = v`.
fn is_identifier(s: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(s) else {
        return false;
    };
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !LUA_KEYWORDS.contains(&s)
}

/// Sort order of table keys: numbers by value, then strings by bytes, then booleans, then
/// tables (in the order they appear).
fn key_order(a: &Payload, b: &Payload) -> Ordering {
    fn rank(p: &Payload) -> u8 {
        match p {
            Payload::Int(_) | Payload::Num(_) => 0,
            Payload::Str(_) => 1,
            Payload::Bool(_) => 2,
            _ => 3,
        }
    }
    fn num(p: &Payload) -> f64 {
        match p {
            Payload::Int(i) => *i as f64,
            Payload::Num(n) => *n,
            _ => 0.0,
        }
    }
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Payload::Int(x), Payload::Int(y)) => x.cmp(y),
        (Payload::Str(x), Payload::Str(y)) => x.cmp(y),
        (Payload::Bool(x), Payload::Bool(y)) => x.cmp(y),
        _ => num(a).total_cmp(&num(b)),
    })
}

/// Prints tables, resolving shared references and cutting cycles.
struct Printer<'p> {
    index: HashMap<u32, &'p PTable>,
    /// Ids of the tables being printed (a reference to one of them is a cycle).
    stack: Vec<u32>,
    /// Values left to print before giving up with `...`.
    budget: usize,
}

impl<'p> Printer<'p> {
    fn value(&mut self, f: &mut fmt::Formatter<'_>, p: &'p Payload) -> fmt::Result {
        if self.budget == 0 {
            return f.write_str("...");
        }
        self.budget -= 1;
        let t = match p {
            Payload::Table(t) => &**t,
            Payload::Ref(id) => match self.index.get(id) {
                Some(_) if self.stack.contains(id) => return f.write_str("<cycle>"),
                Some(t) => *t,
                None => return f.write_str("nil"),
            },
            scalar => return write_scalar(f, scalar),
        };
        self.stack.push(t.id);
        let r = self.table(f, t);
        self.stack.pop();
        r
    }

    fn table(&mut self, f: &mut fmt::Formatter<'_>, t: &'p PTable) -> fmt::Result {
        let mut keyed: Vec<&'p (Payload, Payload)> = t.entries.iter().collect();
        keyed.sort_by(|a, b| key_order(&a.0, &b.0));
        // Positions 1..n lead, written without keys, as a Lua array constructor would.
        let run = keyed
            .iter()
            .enumerate()
            .take_while(|(i, (k, _))| matches!(k, Payload::Int(n) if *n == *i as i64 + 1))
            .count();
        if keyed.is_empty() {
            return f.write_str("{}");
        }
        f.write_char('{')?;
        for (i, (k, v)) in keyed.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if i >= run {
                match k {
                    Payload::Str(s) if is_identifier(s) => {
                        f.write_str(std::str::from_utf8(s).expect("identifiers are UTF-8"))?;
                    }
                    k => {
                        f.write_char('[')?;
                        self.value(f, k)?;
                        f.write_char(']')?;
                    }
                }
                f.write_str(" = ")?;
            }
            self.value(f, v)?;
        }
        f.write_char('}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: u32, entries: Vec<(Payload, Payload)>) -> Payload {
        Payload::Table(Box::new(PTable {
            id,
            narr: 0,
            entries,
        }))
    }

    #[test]
    fn scalars_print_as_lua_literals() {
        assert_eq!(Payload::Nil.to_string(), "nil");
        assert_eq!(Payload::from(true).to_string(), "true");
        assert_eq!(Payload::from(-7i64).to_string(), "-7");
        assert_eq!(Payload::from(1.0).to_string(), "1.0");
        assert_eq!(Payload::from(0.1).to_string(), "0.1");
        assert_eq!(Payload::from(1e300).to_string(), "1e300");
        assert_eq!(Payload::from(f64::INFINITY).to_string(), "math.huge");
        assert_eq!(Payload::from(f64::NAN).to_string(), "0/0");
        assert_eq!(Payload::from("bye").to_string(), "\"bye\"");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            Payload::from("a\"b\\c\nd\u{1}é").to_string(),
            "\"a\\\"b\\\\c\\nd\\001é\""
        );
        assert_eq!(
            Payload::Str(b"\xff0".as_slice().into()).to_string(),
            "\"\\2550\""
        );
    }

    #[test]
    fn tables_list_positions_then_sorted_keys() {
        let t = table(
            0,
            vec![
                (Payload::from("frame"), Payload::from(0i64)),
                (Payload::from(2i64), Payload::from(20i64)),
                (Payload::from("dx"), Payload::from(1i64)),
                (Payload::from(1i64), Payload::from(10i64)),
                (Payload::from("two words"), Payload::from(true)),
                (Payload::from("end"), Payload::from(false)),
                (Payload::from(5i64), Payload::from("x")),
                (Payload::from(true), table(1, vec![])),
            ],
        );
        assert_eq!(
            t.to_string(),
            "{10, 20, [5] = \"x\", dx = 1, [\"end\"] = false, frame = 0, \
             [\"two words\"] = true, [true] = {}}"
        );
    }

    #[test]
    fn shared_tables_print_in_full_and_cycles_are_cut() {
        let shared = table(1, vec![(Payload::from(1i64), Payload::from(1i64))]);
        let t = table(
            0,
            vec![
                (Payload::from("a"), shared),
                (Payload::from("b"), Payload::Ref(1)),
                (Payload::from("self"), Payload::Ref(0)),
            ],
        );
        assert_eq!(t.to_string(), "{a = {1}, b = {1}, self = <cycle>}");
    }
}
