//! `moonhost trace export FILE`: a JSON Lines trace (SPEC §7, §14.3) as Chrome trace-event
//! JSON, which Perfetto and `chrome://tracing` open. One track (thread) per process, a slice
//! per resume (a turn of that process), a flow arrow from each `send` to the receiver's next
//! resume, instant events for faults, timers, kills and exits. Events are sorted by time,
//! so timestamps never go back; a send whose receiver never ran again gets no arrow.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Converts the trace text `jsonl` to Chrome trace-event JSON.
///
/// # Errors
/// `line N: not a JSON object` for a line that is not a trace record.
pub fn export(jsonl: &str) -> Result<String, String> {
    let mut out = Export::default();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(r)) => out.record(&r),
            _ => return Err(format!("line {}: not a JSON object", i + 1)),
        }
    }
    Ok(out.finish())
}

#[derive(Default)]
struct Export {
    events: Vec<Value>,
    /// The open slice: (tid, start in µs).
    open: Option<(u64, f64)>,
    /// Sends waiting for their receiver's next resume: receiver -> (flow id, sender, ts).
    pending: BTreeMap<u64, Vec<(u64, u64, f64)>>,
    names: BTreeMap<u64, String>,
    next_flow: u64,
    last_ts: f64,
}

/// The track of a PID string `{host|N}`: N (0 for the runtime itself).
fn tid(pid: Option<&Value>) -> u64 {
    let s = pid.and_then(Value::as_str).unwrap_or("");
    s.rsplit('|')
        .next()
        .and_then(|n| n.trim_end_matches('}').parse().ok())
        .unwrap_or(0)
}

impl Export {
    fn record(&mut self, r: &Map<String, Value>) {
        let ts = r.get("t").and_then(Value::as_u64).unwrap_or(0) as f64 / 1000.0;
        self.last_ts = self.last_ts.max(ts);
        let ev = r.get("ev").and_then(Value::as_str).unwrap_or("");
        let pid = tid(r.get("pid"));
        match ev {
            "spawn" => {
                let entry = r.get("entry").and_then(Value::as_str).unwrap_or("");
                let p = r.get("pid").and_then(Value::as_str).unwrap_or("");
                self.names.insert(pid, format!("{p} {entry}"));
            }
            "resume" => {
                self.close(ts);
                self.open = Some((pid, ts));
                for (id, from, sent) in self.pending.remove(&pid).unwrap_or_default() {
                    self.flow(id, from, sent, pid, ts);
                }
            }
            "turn" | "park" | "yield" => self.close(ts),
            "send" => {
                let (from, to) = (tid(r.get("from")), tid(r.get("to")));
                self.next_flow += 1;
                let id = self.next_flow;
                self.pending.entry(to).or_default().push((id, from, ts));
            }
            "fault" | "timer" | "kill" | "exit" | "pick" | "change" | "demote" => {
                let kind = r.get("kind").and_then(Value::as_str).unwrap_or(ev);
                let name = if ev == "fault" || ev == "timer" {
                    format!("{ev}: {kind}")
                } else {
                    ev.to_string()
                };
                let args: Map<String, Value> = r
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "t" | "ev"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.events.push(json!({
                    "ph": "i", "s": "t", "name": name, "pid": 1, "tid": pid, "ts": ts,
                    "args": args,
                }));
                if ev == "exit" && self.open.is_some_and(|(t, _)| t == pid) {
                    self.close(ts);
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, ts: f64) {
        if let Some((t, start)) = self.open.take() {
            self.events.push(json!({
                "ph": "X", "name": "turn", "pid": 1, "tid": t, "ts": start,
                "dur": (ts - start).max(0.0),
            }));
        }
    }

    fn flow(&mut self, id: u64, from: u64, sent: f64, to: u64, ts: f64) {
        self.events.push(json!({
            "ph": "s", "name": "message", "cat": "message", "id": id, "pid": 1, "tid": from,
            "ts": sent,
        }));
        self.events.push(json!({
            "ph": "f", "bp": "e", "name": "message", "cat": "message", "id": id, "pid": 1,
            "tid": to, "ts": ts,
        }));
    }

    fn finish(mut self) -> String {
        let end = self.last_ts;
        self.close(end);
        let ts = |e: &Value| e.get("ts").and_then(Value::as_f64).unwrap_or(0.0);
        self.events.sort_by(|a, b| ts(a).total_cmp(&ts(b)));
        let mut all = vec![json!({
            "ph": "M", "name": "process_name", "pid": 1, "tid": 0, "ts": 0,
            "args": {"name": "moonhost"},
        })];
        for (t, name) in &self.names {
            all.push(json!({
                "ph": "M", "name": "thread_name", "pid": 1, "tid": t, "ts": 0,
                "args": {"name": name},
            }));
        }
        all.extend(self.events);
        json!({ "traceEvents": all, "displayTimeUnit": "ns" }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"ev":"start","step":0,"t":0}
{"ev":"spawn","pid":"{app|1}","entry":"t:root","step":0,"t":0}
{"ev":"turn","step":0,"t":0}
{"ev":"resume","pid":"{app|1}","step":1,"t":0}
{"ev":"spawn","pid":"{app|2}","entry":"t:w","step":1,"t":10}
{"ev":"send","from":"{app|1}","to":"{app|2}","topic":"x","step":1,"t":20}
{"ev":"send","from":"{app|1}","to":"{app|9}","topic":"x","step":1,"t":25}
{"ev":"park","pid":"{app|1}","step":1,"t":1000}
{"ev":"resume","pid":"{app|2}","step":2,"t":1000}
{"ev":"fault","kind":"kill","pid":"{app|2}","step":2,"t":1500}
{"ev":"exit","pid":"{app|2}","step":2,"t":2000}
"#;

    #[test]
    fn tracks_slices_paired_flows_and_instants() {
        let v: Value = serde_json::from_str(&export(TRACE).expect("exports")).expect("json");
        let evs = v["traceEvents"].as_array().expect("events");
        let ph = |p: &str| evs.iter().filter(|e| e["ph"] == p).count();
        assert_eq!(ph("X"), 2, "one slice per resume");
        assert_eq!(
            (ph("s"), ph("f")),
            (1, 1),
            "the unreceived send has no arrow"
        );
        assert_eq!(ph("i"), 2, "fault and exit");
        assert_eq!(ph("M"), 3, "process name and two tracks");
        let ts: Vec<f64> = evs.iter().map(|e| e["ts"].as_f64().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
        assert!(export("nope").is_err());
    }
}
