//! [`Runtime::reload`]: new code for a running app (SPEC §12.3.1).

use super::Runtime;
use crate::entry::ReloadReport;
use crate::error::Result;

impl Runtime {
    /// Re-reads from disk the source file of every entry and library of the loaded app and
    /// replaces the code of those that changed; manifests are not re-read (new entries need
    /// a restart).
    ///
    /// A changed entry's new code is used by every later spawn, `process.upgrade` and
    /// supervisor restart; an entry counts as changed when its own file or a library it
    /// imports (transitively) changed. A source that changed but does not compile keeps its
    /// entry's last good code and is listed in [`ReloadReport::failed`]; `process.upgrade`
    /// to it returns `nil, "upgrade failed: <compiler message>"` until a later reload
    /// compiles it. Running processes are untouched: each live process whose current entry
    /// changed receives `{kind = "pid.reload", from = "", entry = <id>, at}` on
    /// `process.events()`, and may answer with `process.upgrade(nil, state)`.
    ///
    /// Call it between [`Runtime::run`] / [`Runtime::run_for`] calls.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when a source file cannot be read (deleted, say);
    /// nothing is changed then.
    ///
    /// # Examples
    /// ```no_run
    /// # fn main() -> moonhost::Result<()> {
    /// let mut rt = moonhost::Runtime::load("game")?;
    /// rt.spawn_root("game:main", &[])?;
    /// // ... the game loop runs frames; a script file was edited ...
    /// let report = rt.reload()?;
    /// for (id, msg) in &report.failed {
    ///     eprintln!("{id} does not compile: {msg}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn reload(&mut self) -> Result<ReloadReport> {
        let mut core = self.core();
        let (report, changed) = core.entries_mut().reload(&self.lua)?;
        for entry in changed {
            core.notify_reload(entry);
        }
        Ok(report)
    }
}
