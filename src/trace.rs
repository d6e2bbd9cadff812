//! Trace and replay: a JSON Lines record of every scheduling decision and event.
//!
//! With `--trace FILE` the runtime writes one object per line: `{"step", "t", "ev", ...}`,
//! where `step` counts task resumes and `t` is the runtime clock in nanoseconds. The first
//! line (`ev: "start"`) says how the run was made. With `--replay FILE` the runtime runs on a
//! virtual clock driven by the trace's `turn` records (so a run recorded on the real clock
//! replays its interleaving without waiting), compares every record it would write with the
//! next line of the file, and stops at the first difference. Written by the core and the
//! scheduler; `t` is not compared (a real-time recording's clock reads cannot be replayed
//! exactly), everything else is.

use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// A trace line that differs from what the run produced.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// 1-based line number in the trace file.
    pub line: usize,
    /// What the file says (`None`: the file had ended).
    pub expected: Option<String>,
    /// What the run produced.
    pub actual: String,
    /// Lua traceback of the process involved, when one was running or suspended.
    pub traceback: Option<String>,
}

/// What the tracer does with records.
#[derive(Debug, Default)]
enum Mode {
    /// Nothing.
    #[default]
    Off,
    /// Writes each record.
    Record(BufWriter<File>),
    /// Compares each record with the recorded ones.
    Replay {
        /// The recorded lines, parsed.
        expected: Vec<Map<String, Value>>,
        /// Next line to compare.
        pos: usize,
    },
}

/// Writes or checks trace records.
#[derive(Debug, Default)]
pub struct Tracer {
    mode: Mode,
    /// Task resumes so far.
    pub step: u64,
    /// First difference found while replaying.
    pub diverged: Option<Divergence>,
}

impl Tracer {
    /// A tracer that writes to `path`.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn record(path: &Path) -> std::io::Result<Tracer> {
        Ok(Tracer {
            mode: Mode::Record(BufWriter::new(File::create(path)?)),
            ..Tracer::default()
        })
    }

    /// A tracer that checks against the trace in `path`.
    ///
    /// # Errors
    /// When the file cannot be read or a line is not a JSON object.
    pub fn replay(path: &Path) -> Result<Tracer, String> {
        let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut expected = Vec::new();
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(Value::Object(m)) => expected.push(m),
                _ => return Err(format!("{}:{}: not a trace record", path.display(), i + 1)),
            }
        }
        Ok(Tracer {
            mode: Mode::Replay { expected, pos: 0 },
            ..Tracer::default()
        })
    }

    /// Whether records are wanted (callers skip building them otherwise).
    pub fn is_on(&self) -> bool {
        !matches!(self.mode, Mode::Off)
    }

    /// Whether the clock must follow the recorded `turn` times.
    pub fn is_replaying(&self) -> bool {
        matches!(self.mode, Mode::Replay { .. })
    }

    /// The first recorded line (`ev: "start"`), when replaying.
    pub fn header(&self) -> Option<&Map<String, Value>> {
        match &self.mode {
            Mode::Replay { expected, .. } => expected.first(),
            _ => None,
        }
    }

    /// The clock value of the next `turn` record, when replaying and it is next.
    pub fn next_turn_time(&self) -> Option<u64> {
        match &self.mode {
            Mode::Replay { expected, pos } => expected
                .get(*pos)
                .filter(|r| r.get("ev").and_then(Value::as_str) == Some("turn"))
                .and_then(|r| r.get("t"))
                .and_then(Value::as_u64),
            _ => None,
        }
    }

    /// Owner PID and kind of the next record when it is a timer firing (replay only).
    pub fn next_timer(&self) -> Option<(String, String)> {
        let Mode::Replay { expected, pos } = &self.mode else {
            return None;
        };
        let r = expected.get(*pos)?;
        if r.get("ev").and_then(Value::as_str) != Some("timer") {
            return None;
        }
        let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        Some((field("pid")?, field("kind")?))
    }

    /// Whether a replay has used up the whole file.
    pub fn replay_finished(&self) -> bool {
        matches!(&self.mode, Mode::Replay { expected, pos } if *pos >= expected.len())
    }

    /// Records `fields` (plus step and time). Returns true when this record diverged from
    /// the replayed trace (the caller adds a traceback).
    pub fn emit(&mut self, t: u64, ev: &str, fields: &[(&str, Value)]) -> bool {
        let mut rec = Map::new();
        rec.insert("step".into(), self.step.into());
        rec.insert("t".into(), t.into());
        rec.insert("ev".into(), ev.into());
        for (k, v) in fields {
            rec.insert((*k).into(), v.clone());
        }
        match &mut self.mode {
            Mode::Off => false,
            Mode::Record(w) => {
                let _ = writeln!(w, "{}", Value::Object(rec));
                false
            }
            Mode::Replay { expected, pos } => {
                if self.diverged.is_some() {
                    return false;
                }
                let line = *pos + 1;
                let want = expected.get(*pos).cloned();
                *pos += 1;
                if want.as_ref().is_some_and(|w| same(w, &rec)) {
                    return false;
                }
                self.diverged = Some(Divergence {
                    line,
                    expected: want.map(|w| Value::Object(w).to_string()),
                    actual: Value::Object(rec).to_string(),
                    traceback: None,
                });
                true
            }
        }
    }

    /// Flushes a recording.
    pub fn flush(&mut self) {
        if let Mode::Record(w) = &mut self.mode {
            let _ = w.flush();
        }
    }
}

/// Records match when every field but the clock is equal.
fn same(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let keys = |m: &Map<String, Value>| m.keys().filter(|k| *k != "t").count();
    keys(a) == keys(b) && a.iter().all(|(k, v)| k == "t" || b.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_replays_and_an_edit_diverges() {
        let dir = std::env::temp_dir().join(format!("moonhost-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("t.jsonl");
        let mut rec = Tracer::record(&path).expect("create");
        rec.emit(5, "turn", &[]);
        rec.step = 1;
        rec.emit(7, "resume", &[("pid", "{a|1}".into())]);
        rec.flush();
        drop(rec);
        let mut rep = Tracer::replay(&path).expect("read");
        assert_eq!(rep.next_turn_time(), Some(5));
        assert!(!rep.emit(99, "turn", &[]));
        rep.step = 1;
        assert!(rep.emit(7, "resume", &[("pid", "{a|2}".into())]));
        let d = rep.diverged.expect("diverged");
        assert_eq!(d.line, 2);
        assert!(d.expected.expect("line").contains("{a|1}"));
        assert!(d.actual.contains("{a|2}"));
    }
}
