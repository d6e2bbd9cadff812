//! The serde `Deserializer` behind [`Payload::decode`](super::Payload::decode).

use super::CodecError;
use crate::payload::{PTable, Payload};
use ::serde::de::{self, IntoDeserializer, Visitor};
use std::collections::HashMap;

type DecResult<T> = std::result::Result<T, CodecError>;

/// What a decode shares across the whole value: tables by id for `Ref`s, the tables being
/// decoded right now (a `Ref` to one of them is a cycle), and the values left to visit.
pub(super) struct Ctx<'p> {
    pub(super) index: HashMap<u32, &'p PTable>,
    pub(super) stack: Vec<u32>,
    pub(super) budget: usize,
}

/// Deserializer over one payload value.
pub(super) struct Decoder<'p, 'c> {
    pub(super) p: &'p Payload,
    pub(super) ctx: &'c mut Ctx<'p>,
}

impl<'p, 'c> Decoder<'p, 'c> {
    /// Resolves a `Ref`, charges the visit and refuses cycles.
    fn resolve(&mut self) -> DecResult<Resolved<'p>> {
        self.ctx.budget = self
            .ctx
            .budget
            .checked_sub(1)
            .ok_or_else(|| CodecError("payload expands to too many values".into()))?;
        match self.p {
            Payload::Table(t) => Ok(Resolved::Table(t)),
            Payload::Ref(id) => match self.ctx.index.get(id) {
                Some(_) if self.ctx.stack.contains(id) => {
                    Err(CodecError("a cyclic table cannot be decoded".into()))
                }
                Some(t) => Ok(Resolved::Table(t)),
                None => Ok(Resolved::Scalar(&Payload::Nil)),
            },
            other => Ok(Resolved::Scalar(other)),
        }
    }

    fn with_table<R>(
        &mut self,
        t: &'p PTable,
        f: impl FnOnce(&mut Ctx<'p>) -> DecResult<R>,
    ) -> DecResult<R> {
        self.ctx.stack.push(t.id);
        let r = f(self.ctx);
        self.ctx.stack.pop();
        r
    }

    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
        // Lua's rule for integer contexts: a float with an exact integer value converts.
        if let Payload::Num(n) = self.p
            && n.fract() == 0.0
            && *n >= i64::MIN as f64
            && *n < i64::MAX as f64
        {
            return visitor.visit_i64(*n as i64);
        }
        de::Deserializer::deserialize_any(self, visitor)
    }
}

enum Resolved<'p> {
    Table(&'p PTable),
    Scalar(&'p Payload),
}

/// Elements 1..n of a table that is a sequence, holes as nil; `None` if any key is not a
/// positive integer. `dense` also requires that no index is missing.
fn sequence(t: &PTable, dense: bool) -> Option<Vec<&Payload>> {
    let mut max = 0usize;
    for (k, _) in &t.entries {
        match k {
            Payload::Int(i) if *i >= 1 && (*i as u64) <= u32::MAX as u64 => {
                max = max.max(*i as usize);
            }
            _ => return None,
        }
    }
    if dense && max != t.entries.len() {
        return None;
    }
    if max > t.entries.len().saturating_mul(2).saturating_add(64) {
        // Far more holes than values: a map keyed by numbers, not an array.
        return None;
    }
    let mut out = vec![&Payload::Nil; max];
    for (k, v) in &t.entries {
        if let Payload::Int(i) = k {
            out[*i as usize - 1] = v;
        }
    }
    Some(out)
}

fn unexpected(p: &Payload) -> de::Unexpected<'_> {
    match p {
        Payload::Nil => de::Unexpected::Unit,
        Payload::Bool(b) => de::Unexpected::Bool(*b),
        Payload::Int(i) => de::Unexpected::Signed(*i),
        Payload::Num(n) => de::Unexpected::Float(*n),
        Payload::Str(s) => match std::str::from_utf8(s) {
            Ok(s) => de::Unexpected::Str(s),
            Err(_) => de::Unexpected::Bytes(s),
        },
        Payload::Table(_) | Payload::Ref(_) => de::Unexpected::Map,
    }
}

fn visit_scalar<'de, V: Visitor<'de>>(p: &Payload, visitor: V) -> DecResult<V::Value> {
    match p {
        Payload::Nil => visitor.visit_unit(),
        Payload::Bool(b) => visitor.visit_bool(*b),
        Payload::Int(i) => visitor.visit_i64(*i),
        Payload::Num(n) => visitor.visit_f64(*n),
        Payload::Str(s) => match std::str::from_utf8(s) {
            Ok(s) => visitor.visit_str(s),
            Err(_) => visitor.visit_bytes(s),
        },
        Payload::Table(_) | Payload::Ref(_) => unreachable!("tables are resolved before"),
    }
}

macro_rules! integer_targets {
    ($($name:ident)*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
            self.integer(visitor)
        }
    )*};
}

impl<'de, 'p, 'c> de::Deserializer<'de> for Decoder<'p, 'c> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(mut self, visitor: V) -> DecResult<V::Value> {
        match self.resolve()? {
            Resolved::Scalar(p) => visit_scalar(p, visitor),
            Resolved::Table(t) => match sequence(t, true) {
                Some(items) if !items.is_empty() => {
                    self.with_table(t, |ctx| visitor.visit_seq(SeqDecoder { items, at: 0, ctx }))
                }
                _ => self.with_table(t, |ctx| {
                    visitor.visit_map(MapDecoder {
                        entries: &t.entries,
                        at: 0,
                        ctx,
                    })
                }),
            },
        }
    }

    integer_targets!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
        match self.p {
            Payload::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
        match self.p {
            Payload::Str(s) => visitor.visit_bytes(s),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> DecResult<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> DecResult<V::Value> {
        match self.resolve()? {
            Resolved::Scalar(Payload::Str(s)) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(s.iter().copied()))
            }
            Resolved::Scalar(p) => Err(de::Error::invalid_type(unexpected(p), &visitor)),
            Resolved::Table(t) => match sequence(t, false) {
                Some(items) => {
                    self.with_table(t, |ctx| visitor.visit_seq(SeqDecoder { items, at: 0, ctx }))
                }
                None => Err(CodecError(
                    "expected a sequence (keys 1..n), found a table with other keys".into(),
                )),
            },
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> DecResult<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> DecResult<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> DecResult<V::Value> {
        match self.resolve()? {
            Resolved::Table(t) => self.with_table(t, |ctx| {
                visitor.visit_map(MapDecoder {
                    entries: &t.entries,
                    at: 0,
                    ctx,
                })
            }),
            Resolved::Scalar(p) => Err(de::Error::invalid_type(unexpected(p), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> DecResult<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> DecResult<V::Value> {
        match self.resolve()? {
            Resolved::Scalar(Payload::Str(s)) => {
                let s = std::str::from_utf8(s)
                    .map_err(|_| CodecError("enum variant name is not UTF-8".into()))?;
                visitor.visit_enum(s.into_deserializer())
            }
            Resolved::Table(t) if t.entries.len() == 1 => {
                let (k, v) = &t.entries[0];
                self.with_table(t, |ctx| visitor.visit_enum(EnumDecoder { k, v, ctx }))
            }
            Resolved::Table(_) => Err(CodecError(
                "expected an enum: a variant name or a table with one key".into(),
            )),
            Resolved::Scalar(p) => Err(de::Error::invalid_type(unexpected(p), &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> DecResult<V::Value> {
        visitor.visit_unit()
    }

    ::serde::forward_to_deserialize_any! {
        bool f32 f64 char str string unit unit_struct identifier
    }
}

/// The elements of a sequence table.
pub(super) struct SeqDecoder<'p, 'c> {
    items: Vec<&'p Payload>,
    at: usize,
    ctx: &'c mut Ctx<'p>,
}

impl<'de, 'p> de::SeqAccess<'de> for SeqDecoder<'p, '_> {
    type Error = CodecError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> DecResult<Option<T::Value>> {
        let Some(p) = self.items.get(self.at).copied() else {
            return Ok(None);
        };
        self.at += 1;
        seed.deserialize(Decoder {
            p,
            ctx: &mut *self.ctx,
        })
        .map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.at)
    }
}

/// The entries of a table read as a map or struct.
pub(super) struct MapDecoder<'p, 'c> {
    entries: &'p [(Payload, Payload)],
    at: usize,
    ctx: &'c mut Ctx<'p>,
}

impl<'de, 'p> de::MapAccess<'de> for MapDecoder<'p, '_> {
    type Error = CodecError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> DecResult<Option<K::Value>> {
        let Some((k, _)) = self.entries.get(self.at) else {
            return Ok(None);
        };
        seed.deserialize(Decoder {
            p: k,
            ctx: &mut *self.ctx,
        })
        .map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> DecResult<V::Value> {
        let (_, v) = &self.entries[self.at];
        self.at += 1;
        seed.deserialize(Decoder {
            p: v,
            ctx: &mut *self.ctx,
        })
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.at)
    }
}

/// `{Variant = value}`: the key names the variant, the value holds its contents.
pub(super) struct EnumDecoder<'p, 'c> {
    k: &'p Payload,
    v: &'p Payload,
    ctx: &'c mut Ctx<'p>,
}

impl<'de, 'p, 'c> de::EnumAccess<'de> for EnumDecoder<'p, 'c> {
    type Error = CodecError;
    type Variant = Decoder<'p, 'c>;
    fn variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> DecResult<(T::Value, Self::Variant)> {
        let tag = seed.deserialize(Decoder {
            p: self.k,
            ctx: &mut *self.ctx,
        })?;
        Ok((
            tag,
            Decoder {
                p: self.v,
                ctx: self.ctx,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for Decoder<'_, '_> {
    type Error = CodecError;
    fn unit_variant(self) -> DecResult<()> {
        de::Deserialize::deserialize(self)
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> DecResult<T::Value> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> DecResult<V::Value> {
        de::Deserializer::deserialize_seq(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> DecResult<V::Value> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}
