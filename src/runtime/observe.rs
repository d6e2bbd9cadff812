//! Observing a run from Rust (SPEC §12.4): snapshots of live processes, tracebacks of
//! waiting ones, and the text report `moonhost run --report` prints. All read-only; they
//! may be called between `run`/`step` calls (an in-game debug overlay, a stuck-run dump).

use super::Runtime;
use crate::core::{ProcState, ProcessInfo};
use crate::lua;
use std::fmt::Write as _;

impl Runtime {
    /// Every live process, in spawn order.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let c = self.core();
        c.list_procs(None)
            .into_iter()
            .filter_map(|p| c.process_info(p))
            .collect()
    }

    /// The snapshot of live process `pid` (a PID string or registered name).
    pub fn process_info(&self, pid: &str) -> Option<ProcessInfo> {
        let c = self.core();
        let p = c.resolve(pid.as_bytes()).ok()?;
        c.process_info(p)
    }

    /// The traceback of live process `pid`'s main coroutine where it is suspended
    /// (`"stack traceback:"` before it starts).
    pub fn traceback(&self, pid: &str) -> Option<String> {
        let found = {
            let c = self.core();
            let p = c.resolve(pid.as_bytes()).ok()?;
            c.main_thread(p)
        };
        match found? {
            (thread, true) => Some(lua::thread_traceback(&self.lua, &thread)),
            (_, false) => Some("stack traceback:".into()),
        }
    }

    /// The report of SPEC §12.4: a header line, a tab-separated table of every live process,
    /// then the traceback of each waiting one, indented.
    pub fn report(&self) -> String {
        let procs = self.processes();
        let now = self.core().clock().wall_ns();
        let mut out = format!(
            "moonhost report: {} live processes at {}\n",
            procs.len(),
            crate::lua::time::rfc3339(now, false)
        );
        out.push_str("PID\tENTRY\tSTATE\tWAIT\tMAILBOX\tMEMORY\tINSTRUCTIONS\tNAMES\n");
        for i in &procs {
            let names = if i.names.is_empty() {
                "-".to_string()
            } else {
                i.names.join(",")
            };
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                i.pid,
                i.entry,
                i.state.name(),
                i.waiting_on.map_or("-", |w| w.name()),
                i.mailbox,
                i.memory,
                i.instructions,
                names
            );
        }
        for i in procs.iter().filter(|i| i.state == ProcState::Waiting) {
            let _ = writeln!(out, "traceback {}", i.pid);
            for line in self.traceback(&i.pid).unwrap_or_default().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}
