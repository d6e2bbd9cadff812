//! `Registry`: process names -> processes (SPEC §2.4).
//!
//! A name maps to one process; a process may hold many names, released when it ends. Used
//! by `process.registry.*` and by every call that resolves a destination.

use crate::error::NameTaken;
use crate::ids::ProcId;
use std::collections::HashMap;

/// The name table.
#[derive(Debug, Default)]
pub struct Registry {
    names: HashMap<Box<str>, ProcId>,
}

impl Registry {
    /// Maps `name` to `p`; fine when `p` already holds it. Returns whether the name is new.
    ///
    /// # Errors
    /// [`NameTaken`] when another process holds the name.
    pub fn register(&mut self, name: &str, p: ProcId) -> Result<bool, NameTaken> {
        match self.names.get(name) {
            Some(q) if *q == p => Ok(false),
            Some(_) => Err(NameTaken),
            None => {
                self.names.insert(name.into(), p);
                Ok(true)
            }
        }
    }

    /// The process holding `name`.
    pub fn lookup(&self, name: &str) -> Option<ProcId> {
        self.names.get(name).copied()
    }

    /// Removes `name`; returns the process that held it.
    pub fn unregister(&mut self, name: &str) -> Option<ProcId> {
        self.names.remove(name)
    }

    /// Number of registered names.
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::SlotMap;

    #[test]
    fn one_holder_per_name_many_names_per_holder() {
        let mut sm: SlotMap<ProcId, ()> = SlotMap::with_key();
        let (a, b) = (sm.insert(()), sm.insert(()));
        let mut r = Registry::default();
        assert_eq!(r.register("x", a), Ok(true));
        assert_eq!(r.register("x", a), Ok(false));
        assert_eq!(r.register("x", b), Err(NameTaken));
        assert_eq!(r.register("y", a), Ok(true));
        assert_eq!(r.lookup("y"), Some(a));
        assert_eq!(r.unregister("x"), Some(a));
        assert_eq!(r.unregister("x"), None);
        assert_eq!(r.len(), 1);
    }
}
