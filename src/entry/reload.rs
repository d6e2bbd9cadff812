//! Reloading an app's sources (SPEC §12.3.1): re-reading every entry's and library's file,
//! compiling what changed, and saying which entries' code was replaced.
//!
//! Manifests are not re-read. An entry whose new source does not compile keeps its last
//! good code (spawns and supervisor restarts use it) and remembers the compiler's message
//! for `process.upgrade`. An entry counts as changed when its own file or a library it
//! imports (transitively) was replaced.

use super::{Entries, chunk_text, compile_text};
use crate::error::{Error, Result};
use mlua::Lua;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Entry ids whose code was replaced, in manifest order.
    pub changed: Vec<String>,
    /// `(entry id, compiler message)` for sources that changed but do not compile.
    pub failed: Vec<(String, String)>,
}

impl ReloadReport {
    /// Whether nothing changed and nothing failed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.failed.is_empty()
    }
}

/// How one entry's own file compares with what was last read.
enum Own {
    Same,
    Replaced,
    Failed,
}

impl Entries {
    /// Re-reads every source file, compiles the changed ones and replaces their code.
    /// Returns the report and the indexes of the changed entries.
    ///
    /// # Errors
    /// [`Error::Io`] when a source file cannot be read; nothing is changed then.
    pub fn reload(&mut self, lua: &Lua) -> Result<(ReloadReport, Vec<u32>)> {
        let texts = self.read_sources()?;
        let mut own = Vec::with_capacity(self.list.len());
        let mut report = ReloadReport::default();
        for i in 0..self.list.len() {
            own.push(self.reload_one(lua, i, &texts, &mut report));
        }
        let mut changed: Vec<bool> = own.iter().map(|o| matches!(o, Own::Replaced)).collect();
        // An importer of a replaced library is changed too, transitively.
        loop {
            let mut grew = false;
            for (i, e) in self.list.iter().enumerate() {
                let uses_changed = e
                    .imports
                    .iter()
                    .any(|(_, t)| t.is_some_and(|t| changed[t as usize]));
                if !changed[i] && !matches!(own[i], Own::Failed) && uses_changed {
                    changed[i] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let idx: Vec<u32> = (0..self.list.len() as u32)
            .filter(|i| changed[*i as usize])
            .collect();
        report.changed = idx.iter().map(|i| self.id(*i).to_string()).collect();
        Ok((report, idx))
    }

    /// The text of every source file, each read once.
    fn read_sources(&self) -> Result<BTreeMap<PathBuf, String>> {
        let mut texts = BTreeMap::new();
        for (path, _) in self.list.iter().filter_map(|e| e.file.as_ref()) {
            if texts.contains_key(path) {
                continue;
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
            texts.insert(path.clone(), text);
        }
        Ok(texts)
    }

    /// Compares entry `i`'s file with its last read text; compiles and installs a changed
    /// one, or records why it does not compile.
    fn reload_one(
        &mut self,
        lua: &Lua,
        i: usize,
        texts: &BTreeMap<PathBuf, String>,
        report: &mut ReloadReport,
    ) -> Own {
        let e = &mut self.list[i];
        let Some((path, seen)) = &mut e.file else {
            return Own::Same;
        };
        let Some(text) = texts.get(path) else {
            return Own::Same;
        };
        if text == seen {
            return Own::Same;
        }
        *seen = text.clone();
        let name = e.source.as_ref().map(|s| s.1.clone()).unwrap_or_default();
        let body = chunk_text(text);
        match compile_text(lua, &body, &name) {
            Ok(f) => {
                let method = e.method.as_deref().and_then(|m| lua.create_string(m).ok());
                e.source = Some((Rc::from(body.as_str()), name));
                e.chunk = Some((f, method));
                e.failed = None;
                Own::Replaced
            }
            Err(msg) => {
                report.failed.push((e.id.clone(), msg.clone()));
                e.failed = Some(msg);
                Own::Failed
            }
        }
    }
}
