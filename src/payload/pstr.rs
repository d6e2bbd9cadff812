//! A payload string's bytes: up to [`INLINE`] of them inside the value, longer ones in a
//! box. Most strings a message carries (table keys, short values) are short, and a copy
//! made one allocation per string: a pingpong_payload message has four.

use std::cmp::Ordering;
use std::ops::Deref;

/// Longest string kept inline.
pub const INLINE: usize = 22;

/// The bytes of a payload string (see the module's documentation).
#[derive(Clone)]
pub struct PStr(Repr);

/// Where the bytes are.
#[derive(Clone)]
enum Repr {
    /// `buf[..len]`.
    Inline {
        /// The length.
        len: u8,
        /// The bytes (the rest zero).
        buf: [u8; INLINE],
    },
    /// In a box.
    Heap(Box<[u8]>),
}

impl PStr {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for PStr {
    fn from(s: &[u8]) -> PStr {
        if s.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s);
            PStr(Repr::Inline {
                len: s.len() as u8,
                buf,
            })
        } else {
            PStr(Repr::Heap(s.into()))
        }
    }
}

impl From<Vec<u8>> for PStr {
    fn from(v: Vec<u8>) -> PStr {
        if v.len() <= INLINE {
            PStr::from(v.as_slice())
        } else {
            PStr(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl From<Box<[u8]>> for PStr {
    fn from(b: Box<[u8]>) -> PStr {
        if b.len() <= INLINE {
            PStr::from(&*b)
        } else {
            PStr(Repr::Heap(b))
        }
    }
}

impl From<&str> for PStr {
    fn from(s: &str) -> PStr {
        PStr::from(s.as_bytes())
    }
}

impl Deref for PStr {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for PStr {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for PStr {
    fn eq(&self, other: &PStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PStr {}

impl PartialOrd for PStr {
    fn partial_cmp(&self, other: &PStr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PStr {
    fn cmp(&self, other: &PStr) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::fmt::Debug for PStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_bytes().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_on_either_side_of_the_bound_keep_their_bytes_and_compare_by_them() {
        for n in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let bytes: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let a = PStr::from(bytes.as_slice());
            let b = PStr::from(bytes.clone());
            assert_eq!(a.as_bytes(), bytes.as_slice(), "{n} bytes");
            assert_eq!(a, b, "{n} bytes, from a slice and from a vector");
            assert_eq!(format!("{a:?}"), format!("{bytes:?}"));
        }
        assert!(PStr::from("ab") < PStr::from("b"));
        assert!(PStr::from(vec![b'x'; 40]) > PStr::from("x"));
    }

    #[test]
    fn a_payload_stays_three_words() {
        assert_eq!(std::mem::size_of::<super::super::Payload>(), 24);
    }
}
