//! The serde `Serializer` behind [`Payload::encode`](super::Payload::encode).

use super::CodecError;
use crate::payload::{PTable, Payload};
use ::serde::ser::{self, Serialize};
use std::fmt;

type EncResult = std::result::Result<Payload, CodecError>;

/// Serializer producing payloads; numbers tables in creation order, as `Payload::copy` does.
pub(super) struct Encoder {
    pub(super) next_id: u32,
}

impl Encoder {
    fn table(&mut self, len: usize) -> TableEncoder<'_> {
        let id = self.next_id;
        self.next_id += 1;
        TableEncoder {
            enc: self,
            table: PTable {
                id,
                narr: 0,
                entries: Vec::with_capacity(len),
            },
            next_index: 1,
            pending_key: None,
            variant: None,
        }
    }

    fn int<T: TryInto<i64> + fmt::Display + Copy>(v: T) -> EncResult {
        v.try_into()
            .map(Payload::Int)
            .map_err(|_| CodecError(format!("integer {v} does not fit in a Lua integer")))
    }

    fn wrap_variant(&mut self, variant: &'static str, value: Payload) -> Payload {
        let id = self.next_id;
        self.next_id += 1;
        tagged(id, variant, value)
    }
}

/// `{variant = value}` as a table with id `id`.
fn tagged(id: u32, variant: &'static str, value: Payload) -> Payload {
    Payload::Table(Box::new(PTable {
        id,
        narr: 0,
        entries: vec![(Payload::from(variant), value)],
    }))
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = Payload;
    type Error = CodecError;
    type SerializeSeq = TableEncoder<'a>;
    type SerializeTuple = TableEncoder<'a>;
    type SerializeTupleStruct = TableEncoder<'a>;
    type SerializeTupleVariant = TableEncoder<'a>;
    type SerializeMap = TableEncoder<'a>;
    type SerializeStruct = TableEncoder<'a>;
    type SerializeStructVariant = TableEncoder<'a>;

    fn serialize_bool(self, v: bool) -> EncResult {
        Ok(Payload::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> EncResult {
        Ok(Payload::Int(v))
    }
    fn serialize_i128(self, v: i128) -> EncResult {
        Encoder::int(v)
    }
    fn serialize_u8(self, v: u8) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> EncResult {
        Ok(Payload::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> EncResult {
        Encoder::int(v)
    }
    fn serialize_u128(self, v: u128) -> EncResult {
        Encoder::int(v)
    }
    fn serialize_f32(self, v: f32) -> EncResult {
        Ok(Payload::Num(v.into()))
    }
    fn serialize_f64(self, v: f64) -> EncResult {
        Ok(Payload::Num(v))
    }
    fn serialize_char(self, v: char) -> EncResult {
        Ok(Payload::from(v.encode_utf8(&mut [0; 4]) as &str))
    }
    fn serialize_str(self, v: &str) -> EncResult {
        Ok(Payload::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> EncResult {
        Ok(Payload::Str(v.into()))
    }
    fn serialize_none(self) -> EncResult {
        Ok(Payload::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> EncResult {
        value.serialize(self)
    }
    fn serialize_unit(self) -> EncResult {
        Ok(Payload::Nil)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> EncResult {
        Ok(Payload::Nil)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> EncResult {
        Ok(Payload::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> EncResult {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> EncResult {
        // The tag table is numbered before its contents, like any table before its children.
        let id = self.next_id;
        self.next_id += 1;
        let inner = value.serialize(&mut *self)?;
        Ok(tagged(id, variant, inner))
    }
    fn serialize_seq(
        self,
        len: Option<usize>,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        Ok(self.table(len.unwrap_or(0)))
    }
    fn serialize_tuple(self, len: usize) -> std::result::Result<TableEncoder<'a>, CodecError> {
        Ok(self.table(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        Ok(self.table(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        let mut t = self.table(len);
        t.variant = Some(variant);
        Ok(t)
    }
    fn serialize_map(
        self,
        len: Option<usize>,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        Ok(self.table(len.unwrap_or(0)))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        Ok(self.table(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<TableEncoder<'a>, CodecError> {
        let mut t = self.table(len);
        t.variant = Some(variant);
        Ok(t)
    }
}

/// A table being encoded: sequence elements get keys 1..n, map entries their own keys.
pub(super) struct TableEncoder<'a> {
    enc: &'a mut Encoder,
    table: PTable,
    /// Key of the next sequence element (a nil element leaves a hole but takes its index).
    next_index: i64,
    /// A map key waiting for its value (`serialize_key` then `serialize_value`).
    pending_key: Option<Payload>,
    /// For tuple and struct variants: the name the finished table is wrapped in.
    variant: Option<&'static str>,
}

impl TableEncoder<'_> {
    fn push_element<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        let idx = self.next_index;
        self.next_index += 1;
        let v = v.serialize(&mut *self.enc)?;
        self.push_entry(Payload::Int(idx), v)
    }

    fn push_entry(&mut self, k: Payload, v: Payload) -> std::result::Result<(), CodecError> {
        let k = match k {
            Payload::Nil => return Err(CodecError("table key cannot be nil".into())),
            Payload::Num(n) if n.is_nan() => {
                return Err(CodecError("table key cannot be NaN".into()));
            }
            // Lua stores a float key with an integral value as that integer.
            Payload::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e18 => Payload::Int(n as i64),
            k => k,
        };
        if !v.is_nil() {
            if matches!(k, Payload::Int(i) if i >= 1 && i <= u32::MAX as i64) {
                self.table.narr += 1;
            }
            self.table.entries.push((k, v));
        }
        Ok(())
    }

    fn finish(self) -> EncResult {
        let table = Payload::Table(Box::new(self.table));
        Ok(match self.variant {
            Some(variant) => self.enc.wrap_variant(variant, table),
            None => table,
        })
    }
}

impl ser::SerializeSeq for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        self.push_element(v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeTuple for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        self.push_element(v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        self.push_element(v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        self.push_element(v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeMap for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(
        &mut self,
        k: &T,
    ) -> std::result::Result<(), CodecError> {
        self.pending_key = Some(k.serialize(&mut *self.enc)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(
        &mut self,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        let k = self
            .pending_key
            .take()
            .ok_or_else(|| CodecError("map value serialized before its key".into()))?;
        let v = v.serialize(&mut *self.enc)?;
        self.push_entry(k, v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeStruct for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        let v = v.serialize(&mut *self.enc)?;
        self.push_entry(Payload::from(key), v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}

impl ser::SerializeStructVariant for TableEncoder<'_> {
    type Ok = Payload;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> std::result::Result<(), CodecError> {
        let v = v.serialize(&mut *self.enc)?;
        self.push_entry(Payload::from(key), v)
    }
    fn end(self) -> EncResult {
        self.finish()
    }
}
