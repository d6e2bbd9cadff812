//! Each process's globals table and its `require` cache, kept on its record so that one
//! `require` and one `load` per runtime find the calling process's own (issue 9). They go
//! with the record when the process ends.

use super::Core;
use mlua::Table;

/// What a process's `require` works from.
#[derive(Debug)]
pub struct ProcEnv {
    /// Its globals table.
    pub env: Table,
    /// The entry it runs (whose imports `require` resolves).
    pub entry: u32,
    /// Its host (which standard modules it may have).
    pub host: u32,
}

impl Core {
    /// Makes `env` the globals of the running process (at its start, or in the new code of
    /// an upgrade) with an empty `require` cache; false outside a process.
    pub fn bind_env(&mut self, env: Table) -> bool {
        let Some(p) = self.current_proc().and_then(|p| self.procs.get_mut(p)) else {
            return false;
        };
        p.env = Some(env);
        p.loaded = None;
        true
    }

    /// The running process's globals, entry and host (`None` outside a process, or in one
    /// whose globals were never bound: a supervisor).
    pub fn current_env(&self) -> Option<ProcEnv> {
        let p = self.procs.get(self.current_proc()?)?;
        Some(ProcEnv {
            env: p.env.clone()?,
            entry: p.entry,
            host: p.pid.host,
        })
    }

    /// The running process's `require` cache, if it has made one.
    pub fn current_loaded(&self) -> Option<Table> {
        self.procs.get(self.current_proc()?)?.loaded.clone()
    }

    /// Makes `loaded` the running process's `require` cache; false outside a process.
    pub fn set_loaded(&mut self, loaded: Table) -> bool {
        let Some(p) = self.current_proc().and_then(|p| self.procs.get_mut(p)) else {
            return false;
        };
        p.loaded = Some(loaded);
        true
    }
}
