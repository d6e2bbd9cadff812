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
    /// Lua traceback of the process involved, when it has a Lua stack (a process that
    /// has not started yet, or has ended, has none).
    pub traceback: Option<String>,
    /// The process involved and its entry (`{app|3} (entry app:worker)`), when a process
    /// was running or the record named one.
    pub process: Option<String>,
}

impl Divergence {
    /// The report's lines (without the `moonhost: ` prefix): where the trace and the run
    /// differ, and the process involved with its entry.
    pub fn report(&self) -> String {
        let mut r = format!(
            "replay diverged at trace line {}\n  expected: {}\n  actual:   {}",
            self.line,
            self.expected.as_deref().unwrap_or("(end of trace)"),
            self.actual
        );
        if let Some(p) = &self.process {
            r.push_str("\n  process: ");
            r.push_str(p);
            if self.traceback.is_none() {
                r.push_str(" (no Lua stack: not started or already ended)");
            }
        }
        r
    }

    /// Attaches the Lua stack of the process involved, unless one is attached already or
    /// `tb` has no frames (a bare `stack traceback:` line says nothing).
    pub fn note_stack(&mut self, tb: String) {
        let has_frames = tb
            .lines()
            .skip(1)
            .any(|l| !l.trim().is_empty() && !l.contains("[C]: in ?"));
        if self.traceback.is_none() && has_frames {
            self.traceback = Some(tb);
        }
    }
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

/// Decisions a shrinking candidate applies, by step.
#[derive(Debug, Default)]
struct Guide {
    decisions: Vec<Map<String, Value>>,
    next: usize,
}

/// Writes or checks trace records.
#[derive(Debug, Default)]
pub struct Tracer {
    mode: Mode,
    /// Decisions to apply at their steps (a shrinking candidate), instead of the seed's.
    guide: Option<Guide>,
    /// Task resumes so far.
    pub step: u64,
    /// First difference found while replaying.
    pub diverged: Option<Divergence>,
    /// The id of the test this run is (`moonhost test`), for the `start` record.
    pub test: Option<String>,
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
                _ => {
                    return Err(format!(
                        "{}:{}: not a moonhost trace (line is not a JSON object)",
                        path.display(),
                        i + 1
                    ));
                }
            }
        }
        let is_start = expected
            .first()
            .and_then(|r| r.get("ev"))
            .and_then(Value::as_str)
            == Some("start");
        if !is_start {
            return Err(format!(
                "{}: not a moonhost trace (its first record must be a \"start\" record)",
                path.display()
            ));
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
            Mode::Replay { .. } => self
                .next_decision()
                .filter(|r| r.get("ev").and_then(Value::as_str) == Some("turn"))
                .and_then(|r| r.get("t"))
                .and_then(Value::as_u64),
            _ => None,
        }
    }

    /// Owner PID and kind of the next record when it is a timer firing (replay only).
    pub fn next_timer(&self) -> Option<(String, String)> {
        let r = self.next_decision()?;
        if r.get("ev").and_then(Value::as_str) != Some("timer") {
            return None;
        }
        let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        Some((field("pid")?, field("kind")?))
    }

    /// Position and owner PID of the next record when it is a `pick` of `timer` (replay
    /// only).
    pub fn next_timer_pick(&self) -> Option<(u64, String)> {
        let r = self.next_decision()?;
        if r.get("ev")?.as_str()? != "pick" || r.get("of")?.as_str()? != "timer" {
            return None;
        }
        Some((r.get("pos")?.as_u64()?, r.get("pid")?.as_str()?.to_string()))
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
                if self.diverged.is_some() || is_info(ev) {
                    return false;
                }
                skip_info(expected, pos);
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
                    process: None,
                });
                true
            }
        }
    }

    /// Applies `decisions` (pick and fault records) at the steps they name instead of
    /// comparing records: what a shrinking candidate runs with.
    pub fn set_guide(&mut self, decisions: Vec<Map<String, Value>>) {
        self.guide = Some(Guide { decisions, next: 0 });
    }

    /// Whether decisions come from a guide.
    pub fn is_guided(&self) -> bool {
        self.guide.is_some()
    }

    /// The guide's decision for the current step when it has `ev` and `field == want`
    /// (taken), skipping decisions of earlier steps that no longer applied.
    fn guided(&mut self, ev: &str, field: &str, want: &str) -> Option<Map<String, Value>> {
        let step = self.step;
        let g = self.guide.as_mut()?;
        let num = |r: &Map<String, Value>| r.get("step").and_then(Value::as_u64).unwrap_or(0);
        while g.decisions.get(g.next).is_some_and(|r| num(r) < step) {
            g.next += 1;
        }
        let r = g.decisions.get(g.next)?;
        let s = |k: &str| r.get(k).and_then(Value::as_str);
        if num(r) != step || s("ev") != Some(ev) || s(field) != Some(want) {
            return None;
        }
        g.next += 1;
        Some(r.clone())
    }

    /// The next decision record when it is a `pick` of `of` (`run` or `timer`): its `pos`.
    pub fn next_pick(&mut self, of: &str) -> Option<usize> {
        if self.guide.is_some() {
            let r = self.guided("pick", "of", of)?;
            return r.get("pos")?.as_u64().map(|p| p as usize);
        }
        let r = self.next_decision()?;
        if r.get("ev")?.as_str()? != "pick" || r.get("of")?.as_str()? != of {
            return None;
        }
        r.get("pos")?.as_u64().map(|p| p as usize)
    }

    /// The next record when it is a `fault` of `kind` (replay only).
    pub fn next_fault(&mut self, kind: &str) -> Option<Map<String, Value>> {
        if self.guide.is_some() {
            return self.guided("fault", "kind", kind);
        }
        let r = self.next_decision()?;
        if r.get("ev")?.as_str()? != "fault" || r.get("kind")?.as_str()? != kind {
            return None;
        }
        Some(r.clone())
    }

    /// Whether the next record is a `buggify` fault at `site`.
    pub fn next_fault_site(&mut self, site: &str) -> bool {
        if self.guide.is_some() {
            return self.guided("fault", "site", site).is_some();
        }
        self.next_fault("buggify")
            .is_some_and(|r| r.get("site").and_then(Value::as_str) == Some(site))
    }

    /// The next record to compare, past information records (replay only).
    fn next_decision(&self) -> Option<&Map<String, Value>> {
        match &self.mode {
            Mode::Replay { expected, pos } if self.diverged.is_none() => expected[*pos..]
                .iter()
                .find(|r| !r.get("ev").and_then(Value::as_str).is_some_and(is_info)),
            _ => None,
        }
    }

    /// Records compared so far in a replay (the file's lines less information records).
    pub fn compared(&self) -> usize {
        match &self.mode {
            Mode::Replay { expected, pos } => expected[..(*pos).min(expected.len())]
                .iter()
                .filter(|r| !r.get("ev").and_then(Value::as_str).is_some_and(is_info))
                .count(),
            _ => 0,
        }
    }

    /// Flushes a recording.
    pub fn flush(&mut self) {
        if let Mode::Record(w) = &mut self.mode {
            let _ = w.flush();
        }
    }
}

/// Records that inform (PCT priorities, demotions, POS re-draws, assertions) and are not compared on
/// replay: a replay follows decisions, it does not redraw priorities.
const INFO: [&str; 6] = ["prio", "change", "demote", "touch", "buggify", "assert"];

fn is_info(ev: &str) -> bool {
    INFO.contains(&ev)
}

fn skip_info(expected: &[Map<String, Value>], pos: &mut usize) {
    while expected
        .get(*pos)
        .and_then(|r| r.get("ev"))
        .and_then(Value::as_str)
        .is_some_and(is_info)
    {
        *pos += 1;
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
        rec.emit(0, "start", &[]);
        rec.emit(5, "turn", &[]);
        rec.step = 1;
        rec.emit(7, "resume", &[("pid", "{a|1}".into())]);
        rec.flush();
        drop(rec);
        let mut rep = Tracer::replay(&path).expect("read");
        assert!(!rep.emit(0, "start", &[]));
        assert_eq!(rep.next_turn_time(), Some(5));
        assert!(!rep.emit(99, "turn", &[]));
        rep.step = 1;
        assert!(rep.emit(7, "resume", &[("pid", "{a|2}".into())]));
        let d = rep.diverged.expect("diverged");
        assert_eq!(d.line, 3);
        assert!(d.expected.expect("line").contains("{a|1}"));
        assert!(d.actual.contains("{a|2}"));
    }
}
