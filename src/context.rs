//! A process's spawn context (SPEC §10.1): string-keyed values, an optional actor and an
//! optional scope, fixed when the process starts and read-only after.
//!
//! Plain data: values are copied [`Payload`]s, rebuilt into fresh Lua values on every read
//! (`ctx.get`, `ctx.all`). The core stores one per process, shared through `Rc` with the
//! parent and with spawners (nothing mutates a context once built, so sharing it is the same
//! as copying it). A process started by the runtime itself has none.

use crate::payload::Payload;
use crate::security::{Actor, Scope};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a process carries from its spawn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpawnContext {
    /// Context values by key.
    pub values: BTreeMap<String, Payload>,
    /// Who the process acts for.
    pub actor: Option<Rc<Actor>>,
    /// The policies it holds.
    pub scope: Option<Rc<Scope>>,
}

impl SpawnContext {
    /// Whether it carries nothing at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.actor.is_none() && self.scope.is_none()
    }
}
