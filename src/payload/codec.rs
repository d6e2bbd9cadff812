//! `Payload::encode` and `Payload::decode`: Rust values to and from payloads through serde
//! (SPEC §13.2), so a host sends structs to scripts and reads their replies as structs.
//!
//! Encoding maps structs and maps to tables, sequences and tuples to tables keyed 1..n,
//! `None` and unit to nil, integers to integers, floats to floats, strings, chars and bytes to
//! strings; enums are externally tagged (`"Variant"` or `{Variant = value}`), as serde_json
//! does. A nil value in a map or struct leaves the key out (Lua tables cannot hold nil), so
//! `None` fields come back as `None` and a `None` inside a sequence leaves a hole.
//!
//! Decoding is the reverse: a table whose keys are exactly 1..n is a sequence (for
//! self-describing targets such as `serde_json::Value`); a target that asks for a sequence also
//! accepts holes (nil) and a string (its bytes); an integer target accepts a float with an
//! integral value (Lua's own rule for integer contexts). Shared tables are decoded once per
//! reference; a cycle is an error, and so is expansion past [`EXPAND_LIMIT_VALUES`].

use super::{PTable, Payload};
use crate::error::{Error, Result};
use ::serde::de::{self, DeserializeOwned};
use ::serde::ser::{self, Serialize};
use std::collections::HashMap;
use std::fmt;

mod decode;
mod encode;

use decode::{Ctx, Decoder};
use encode::Encoder;

/// Values a decode may visit beyond those the payload holds, the room shared tables have to
/// expand (a payload of nested shared tables would otherwise expand exponentially).
pub(super) const EXPAND_LIMIT_VALUES: usize = 1_000_000;

impl Payload {
    /// Encodes a Rust value as a payload (SPEC §13.2).
    ///
    /// # Errors
    /// [`Error::Payload`] for integers outside the `i64` range, nil or NaN map keys, and
    /// errors the value's `Serialize` reports.
    ///
    /// # Examples
    /// ```
    /// use moonhost::Payload;
    /// #[derive(serde::Serialize)]
    /// struct Move { dx: i64, frame: u32 }
    /// let p = Payload::encode(&Move { dx: 1, frame: 0 }).unwrap();
    /// assert_eq!(p.to_string(), "{dx = 1, frame = 0}");
    /// ```
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload> {
        value
            .serialize(&mut Encoder { next_id: 0 })
            .map_err(CodecError::into_error)
    }

    /// Decodes the payload into a Rust value (SPEC §13.2).
    ///
    /// # Errors
    /// [`Error::Payload`] when the payload does not fit `T` (wrong type, missing field, a
    /// float where an integer is needed), holds a cycle, or expands too far.
    ///
    /// # Examples
    /// ```
    /// use moonhost::Payload;
    /// let p = Payload::encode(&vec![1, 2, 3]).unwrap();
    /// assert_eq!(p.decode::<Vec<i32>>().unwrap(), vec![1, 2, 3]);
    /// assert!(Payload::from("x").decode::<i64>().is_err());
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        let mut index = HashMap::new();
        let held = index_and_count(self, &mut index);
        let mut ctx = Ctx {
            index,
            stack: Vec::new(),
            budget: held.saturating_add(EXPAND_LIMIT_VALUES),
        };
        T::deserialize(Decoder {
            p: self,
            ctx: &mut ctx,
        })
        .map_err(CodecError::into_error)
    }
}

impl From<bool> for Payload {
    fn from(b: bool) -> Payload {
        Payload::Bool(b)
    }
}

impl From<i64> for Payload {
    fn from(i: i64) -> Payload {
        Payload::Int(i)
    }
}

impl From<f64> for Payload {
    fn from(n: f64) -> Payload {
        Payload::Num(n)
    }
}

impl From<&str> for Payload {
    fn from(s: &str) -> Payload {
        Payload::Str(s.as_bytes().into())
    }
}

impl From<String> for Payload {
    fn from(s: String) -> Payload {
        Payload::Str(s.into_bytes().into())
    }
}

/// Indexes the payload's tables by id and counts its values.
pub(super) fn index_and_count<'a>(p: &'a Payload, index: &mut HashMap<u32, &'a PTable>) -> usize {
    match p {
        Payload::Table(t) => {
            index.insert(t.id, t);
            1 + t
                .entries
                .iter()
                .map(|(k, v)| index_and_count(k, index) + index_and_count(v, index))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The message of an encode or decode failure; becomes [`Error::Payload`].
#[derive(Debug)]
struct CodecError(String);

impl CodecError {
    fn into_error(self) -> Error {
        Error::Payload(self.0)
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError(msg.to_string())
    }
}

impl de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError(msg.to_string())
    }
}

#[cfg(test)]
mod tests;
