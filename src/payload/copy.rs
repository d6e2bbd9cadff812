//! The copier and the builder behind `Payload::copy*` and `Payload::to_lua*`: the payload
//! side of the C walk and build in `ffi::walk` and `ffi::build`.
//!
//! Copying charges [`VALUE_COST_BYTES`] per value and the bytes of every string against the
//! size budget as it goes, so it stops at the first value over it; tables get ids in the
//! order they are first met, and identity (a table's or userdata's address) is looked up in
//! a short inline list, spilling to a hash map only for payloads with many tables.

use super::{
    CopyError, PTable, Payload, PayloadBox, ScalarBox, VALUE_COST_BYTES, index_tables, renumber,
};
use crate::ffi::build::{Shape, Source};
use crate::ffi::hot::Arg;
use crate::ffi::walk::{Leaf, Open, Sink};
use mlua::Value;
use smallvec::SmallVec;
use std::collections::HashMap;

/// Identities a copy looks up before the hash map takes over.
const SEEN_INLINE: usize = 8;

/// Tables (and payload objects) met so far in one copy, by address, with their ids.
#[derive(Default)]
struct Seen {
    /// The first [`SEEN_INLINE`] ones, searched in order.
    few: SmallVec<[(usize, u32); SEEN_INLINE]>,
    /// All of them once there are more (then `few` is left as it was).
    many: Option<HashMap<usize, u32>>,
}

impl Seen {
    fn get(&self, ptr: usize) -> Option<u32> {
        match &self.many {
            None => self.few.iter().find(|(p, _)| *p == ptr).map(|(_, id)| *id),
            Some(m) => m.get(&ptr).copied(),
        }
    }

    fn insert(&mut self, ptr: usize, id: u32) {
        match &mut self.many {
            None if self.few.len() < SEEN_INLINE => self.few.push((ptr, id)),
            None => {
                let mut m: HashMap<usize, u32> = self.few.iter().copied().collect();
                m.insert(ptr, id);
                self.many = Some(m);
            }
            Some(m) => {
                m.insert(ptr, id);
            }
        }
    }
}

/// Copies values into payloads under a depth and a size limit.
pub(super) struct Copier {
    seen: Seen,
    next_id: u32,
    max_depth: usize,
    budget: usize,
    max_bytes: usize,
}

impl Copier {
    pub(super) fn new(max_depth: usize, max_bytes: usize) -> Copier {
        Copier {
            seen: Seen::default(),
            next_id: 0,
            max_depth,
            budget: max_bytes,
            max_bytes,
        }
    }

    /// Bytes charged so far: the size of what was copied, as [`Payload::measure`] counts it.
    pub(super) fn used(&self) -> usize {
        self.max_bytes - self.budget
    }

    fn charge(&mut self, n: usize) -> Result<(), CopyError> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(CopyError::TooLarge(self.max_bytes)),
        }
    }

    /// A payload object met `depth` levels down: its value, renumbered into this copy.
    fn payload_box(&mut self, b: &Payload, ptr: usize, depth: usize) -> Result<Payload, CopyError> {
        // Forwarding a received payload is sending it: the same limits apply.
        let (bytes, nesting) = b.measure();
        if depth + nesting > self.max_depth {
            return Err(CopyError::TooDeep(self.max_depth));
        }
        self.charge(bytes.saturating_sub(VALUE_COST_BYTES))?;
        // Its tables join this payload's numbering, in the order `build` makes them.
        let mut index = HashMap::new();
        index_tables(b, &mut index);
        let p = renumber(b, &index, &mut HashMap::new(), &mut self.next_id);
        if let Payload::Table(t) = &p {
            self.seen.insert(ptr, t.id);
        }
        Ok(p)
    }
}

impl Sink for Copier {
    type Node = Payload;
    type Table = PTable;
    type Error = CopyError;

    fn value(&mut self) -> Result<(), CopyError> {
        self.charge(VALUE_COST_BYTES)
    }

    fn leaf(&mut self, leaf: Leaf<'_>) -> Result<Payload, CopyError> {
        Ok(match leaf {
            Leaf::Nil => Payload::Nil,
            Leaf::Bool(b) => Payload::Bool(b),
            Leaf::Int(i) => Payload::Int(i),
            Leaf::Num(n) => Payload::Num(n),
            Leaf::Str(s) => {
                self.charge(s.len())?;
                Payload::Str(s.into())
            }
        })
    }

    fn open(
        &mut self,
        ptr: usize,
        depth: usize,
        len: usize,
    ) -> Result<Open<Payload, PTable>, CopyError> {
        if let Some(id) = self.seen.get(ptr) {
            return Ok(Open::Seen(Payload::Ref(id)));
        }
        if depth >= self.max_depth {
            return Err(CopyError::TooDeep(self.max_depth));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.seen.insert(ptr, id);
        // No more pairs than the budget pays for (two values each).
        let room = self.budget / (2 * VALUE_COST_BYTES);
        Ok(Open::New(PTable {
            id,
            narr: 0,
            entries: Vec::with_capacity(len.min(room)),
        }))
    }

    fn entry(&mut self, t: &mut PTable, k: Payload, v: Payload) {
        if let Payload::Int(i) = k
            && i >= 1
            && i as u64 <= u32::MAX as u64
        {
            t.narr += 1;
        }
        t.entries.push((k, v));
    }

    fn close(&mut self, t: PTable) -> Payload {
        Payload::Table(Box::new(t))
    }

    fn boxed(
        &mut self,
        b: crate::ffi::boxed::Boxed<'_>,
        ptr: usize,
        depth: usize,
    ) -> Option<Result<Payload, CopyError>> {
        if let Some(ScalarBox(s)) = b.get::<ScalarBox>() {
            return Some(self.payload_box(&s.payload(), ptr, depth));
        }
        let pb = b.get::<PayloadBox>()?;
        if let Some(id) = self.seen.get(ptr) {
            // The same payload object twice in one message is one shared table, not two
            // copies (copies would double with every level of wrapping).
            return Some(Ok(Payload::Ref(id)));
        }
        Some(self.payload_box(&pb.0, ptr, depth))
    }

    fn userdata(&mut self, v: &Value, depth: usize) -> Result<Payload, CopyError> {
        let Value::UserData(ud) = v else {
            return Err(CopyError::Unsupported("userdata"));
        };
        // A payload object handed over as a handle: read as the walk reads one in place.
        let ptr = ud.to_pointer() as usize;
        let lua = ud.weak_lua().upgrade();
        if let Some(r) =
            crate::ffi::boxed::with_any(&lua, v, |b| self.boxed(b, ptr, depth)).flatten()
        {
            return r;
        }
        if crate::ffi::chan::is_channel(v) {
            return Err(CopyError::Unsupported("channel"));
        }
        // Error objects name themselves through their metatable's `__name`; an error
        // object travels as its message (SPEC §9.1).
        let named = ud
            .metatable()
            .and_then(|mt| mt.get::<Option<mlua::LuaString>>("__name"))
            .ok()
            .flatten();
        if named.as_ref().is_some_and(|n| n == "error") {
            let msg = v
                .to_string()
                .map_err(|_| CopyError::Unsupported("userdata"))?;
            self.charge(msg.len())?;
            return Ok(Payload::Str(msg.into_bytes().into()));
        }
        Err(CopyError::Unsupported("userdata"))
    }

    fn refuse(&mut self, what: &'static str) -> CopyError {
        CopyError::Unsupported(what)
    }
}

impl Source for Payload {
    fn shape(&self) -> Shape<'_, Payload> {
        match self {
            Payload::Nil => Shape::Nil,
            Payload::Bool(b) => Shape::Bool(*b),
            Payload::Int(i) => Shape::Int(*i),
            Payload::Num(n) => Shape::Num(*n),
            Payload::Str(s) => Shape::Str(s),
            Payload::Table(t) => Shape::Table {
                id: t.id,
                narr: t.narr,
                entries: &t.entries,
            },
            Payload::Ref(id) => Shape::Ref(*id),
        }
    }
}

/// The arguments of a hot call as payloads when all of them are scalars or strings (the
/// common message), without a copier; `None` when one is not.
#[inline(always)]
pub(super) fn leaves(
    args: &[Arg<'_>],
    max_bytes: usize,
) -> Option<Result<super::Copied, CopyError>> {
    let mut out = SmallVec::new();
    let mut bytes = 0usize;
    for a in args {
        bytes = bytes.saturating_add(VALUE_COST_BYTES);
        out.push(match *a {
            Arg::Nil => Payload::Nil,
            Arg::Bool(b) => Payload::Bool(b),
            Arg::Int(i) => Payload::Int(i),
            Arg::Num(n) => Payload::Num(n),
            Arg::Str(s) => {
                bytes = bytes.saturating_add(s.len());
                Payload::Str(s.into())
            }
            Arg::Absent | Arg::Chan(_) | Arg::Clock(_) | Arg::Boxed(_) | Arg::Other => return None,
        });
    }
    if bytes > max_bytes {
        return Some(Err(CopyError::TooLarge(max_bytes)));
    }
    Some(Ok((out, bytes)))
}

#[cfg(test)]
mod tests;
