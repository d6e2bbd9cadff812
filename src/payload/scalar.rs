//! Payload values small enough to be kept inside a flat userdata (`ffi::boxed::new_flat`):
//! `nil`, booleans, numbers and strings of up to [`SHORT`] bytes. A payload object or a
//! message object made of them owns no Rust allocation, so it needs no finalizer.

use super::Payload;

/// Longest string a [`Scalar`] holds.
pub const SHORT: usize = 22;

/// A payload with no allocation of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A short string: `bytes[..len]`.
    Str {
        /// Its length.
        len: u8,
        /// Its bytes (the rest zero).
        bytes: [u8; SHORT],
    },
}

impl Scalar {
    /// `p` as a scalar, if it is one.
    pub fn of(p: &Payload) -> Option<Scalar> {
        Some(match p {
            Payload::Nil => Scalar::Nil,
            Payload::Bool(b) => Scalar::Bool(*b),
            Payload::Int(i) => Scalar::Int(*i),
            Payload::Num(n) => Scalar::Num(*n),
            Payload::Str(s) if s.len() <= SHORT => {
                let mut bytes = [0u8; SHORT];
                bytes[..s.len()].copy_from_slice(s);
                Scalar::Str {
                    len: s.len() as u8,
                    bytes,
                }
            }
            _ => return None,
        })
    }

    /// This value as a Lua value that needs no Lua state: all but a string.
    pub fn plain(&self) -> Option<mlua::Value> {
        Some(match *self {
            Scalar::Nil => mlua::Value::Nil,
            Scalar::Bool(b) => mlua::Value::Boolean(b),
            Scalar::Int(i) => mlua::Value::Integer(i),
            Scalar::Num(n) => mlua::Value::Number(n),
            Scalar::Str { .. } => return None,
        })
    }

    /// The string's bytes, if it is a string.
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self {
            Scalar::Str { len, bytes } => Some(&bytes[..usize::from(*len)]),
            _ => None,
        }
    }

    /// Back as a payload.
    pub fn payload(&self) -> Payload {
        match *self {
            Scalar::Nil => Payload::Nil,
            Scalar::Bool(b) => Payload::Bool(b),
            Scalar::Int(i) => Payload::Int(i),
            Scalar::Num(n) => Payload::Num(n),
            Scalar::Str { len, bytes } => Payload::Str(bytes[..usize::from(len)].into()),
        }
    }
}

/// A payload object holding a scalar: flat (no box, no finalizer), of kind
/// [`SCALAR_KIND`]; it behaves as a [`super::PayloadBox`] of the same value.
#[derive(Debug, Clone, Copy)]
pub struct ScalarBox(pub Scalar);

/// The kind key of flat payload objects.
pub static SCALAR_KIND: u8 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_and_long_strings_and_tables_are_not_scalars() {
        for p in [
            Payload::Nil,
            Payload::Bool(true),
            Payload::Int(-7),
            Payload::Num(0.5),
            Payload::Str(b"".as_slice().into()),
            Payload::Str([b'x'; SHORT].as_slice().into()),
        ] {
            assert_eq!(Scalar::of(&p).map(|s| s.payload()), Some(p));
        }
        assert_eq!(
            Scalar::of(&Payload::Str([b'x'; SHORT + 1].as_slice().into())),
            None
        );
        let t = Payload::Table(Box::new(super::super::PTable {
            id: 0,
            narr: 0,
            entries: vec![],
        }));
        assert_eq!(Scalar::of(&t), None);
        assert_eq!(
            Scalar::of(&Payload::Str(b"ping".as_slice().into()))
                .as_ref()
                .and_then(Scalar::str_bytes),
            Some(b"ping".as_slice())
        );
    }
}
