//! `scheduler_ops`: a sequence of operations on worker processes, run by a generated Lua
//! driver, checked against a model computed here in Rust.
//!
//! Operations (all issued by the root, some carried out by a worker on the root's command):
//! spawn a worker (plain / monitored / linked / both; trapping links or not), send it a
//! numbered message (by PID or by registered name), make it fail (raise), make it finish
//! (return the number of messages it got), terminate it, cancel it, root link / unlink /
//! monitor / unmonitor of a worker, worker-to-worker link / unlink / monitor / unmonitor, and
//! switching a worker's `trap_links`.
//!
//! The model knows which workers are alive after each step, including the cascade of
//! `linked process failed` deaths, so it writes into the script the exact results every call
//! must return (`true`, `nil, "process not found"`, `nil, "pid not registered"`,
//! `nil, "already monitoring pid"`, ...). After each step that ends workers the driver waits
//! until their registered names are released, then checks the survivors still hold theirs.
//! At the end the driver finishes every live worker and compares:
//! - its own events: exactly one EXIT per worker it was monitoring when the worker ended,
//!   with the right status (`ok=<count>` for a normal end, else the error), and exactly one
//!   LINK_DOWN per worker linked to it that ended abnormally (the root traps links);
//! - each report a worker sends when told to fail or finish: the messages it got, which
//!   must be every message sent to it while alive, exactly once, in order; and the events it
//!   got (EXIT of what it monitored, LINK_DOWN of failed partners while trapping, CANCELs).
//!
//! The driver returns `false` on any mismatch (and prints each one); the target asserts the
//! root ended normally with a value other than `false`. No panic, no hang, nothing left
//! after shutdown + collect.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use moonhost::runtime::Stats;
use moonhost::{Exit, Payload, RunOutcome};
use moonhost_fuzz::{Scratch, run_app};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

const MAX_WORKERS: usize = 8;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SpawnKind {
    Plain,
    Monitored,
    Linked,
    LinkedMonitored,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum RootOp {
    Link,
    Unlink,
    Monitor,
    Unmonitor,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Spawn { kind: SpawnKind, trap: bool },
    Send { w: u8, by_name: bool },
    Fail { w: u8 },
    Finish { w: u8 },
    Terminate { w: u8 },
    Cancel { w: u8 },
    Root { op: RootOp, w: u8 },
    Worker { op: RootOp, w: u8, other: u8 },
    Trap { w: u8, on: bool },
}

/// Process index: 0 is the root, workers are 1..=n.
type Id = usize;

#[derive(Default)]
struct Model {
    /// Worker `i` (1-based) at `alive[i - 1]` etc.
    alive: Vec<bool>,
    trap: Vec<bool>,
    data: Vec<Vec<u32>>,
    events: Vec<Vec<String>>,
    /// Links (a < b) and monitors (watcher, target) between processes.
    links: BTreeSet<(Id, Id)>,
    monitors: BTreeSet<(Id, Id)>,
    root_events: Vec<String>,
    /// Workers that must have sent a report (told to fail or finish while alive).
    reports: BTreeSet<Id>,
    seq: u32,
}

fn link_key(a: Id, b: Id) -> (Id, Id) {
    (a.min(b), a.max(b))
}

impl Model {
    fn alive(&self, w: Id) -> bool {
        self.alive[w - 1]
    }

    fn note(&mut self, to: Id, ev: String) {
        if to == 0 {
            self.root_events.push(ev);
        } else if self.alive(to) {
            self.events[to - 1].push(ev);
        }
    }

    /// Ends `w` with `how` (`None`: normal) and everything its failure takes down.
    /// Returns every worker that ended.
    fn end(&mut self, w: Id, how: Option<&str>) -> Vec<Id> {
        let mut ended = Vec::new();
        let mut queue = vec![(w, how.map(str::to_string))];
        while let Some((x, how)) = queue.pop() {
            if !self.alive(x) {
                continue;
            }
            self.alive[x - 1] = false;
            ended.push(x);
            let detail = match &how {
                None => format!("ok={}", self.data[x - 1].len()),
                Some(e) => e.clone(),
            };
            let watchers: Vec<Id> = self
                .monitors
                .iter()
                .filter(|(_, t)| *t == x)
                .map(|(m, _)| *m)
                .collect();
            for m in watchers {
                self.note(m, format!("exit:w{x}:{detail}"));
            }
            self.monitors.retain(|(m, t)| *m != x && *t != x);
            let partners: Vec<Id> = self
                .links
                .iter()
                .filter(|(a, b)| *a == x || *b == x)
                .map(|(a, b)| if *a == x { *b } else { *a })
                .collect();
            self.links.retain(|(a, b)| *a != x && *b != x);
            if how.is_some() {
                for p in partners {
                    if p == 0 || self.trap[p - 1] {
                        self.note(p, format!("down:w{x}:{detail}"));
                    } else if self.alive(p) {
                        queue.push((p, Some("linked process failed".into())));
                    }
                }
            }
        }
        ended
    }
}

/// Lua string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

const WORKER: &str = r##"
local function worker(name, root, trap)
  if trap then process.set_options({trap_links = true}) end
  process.send(root, "ack", "ready", "nil")
  local data, events = {}, {}
  local inbox, ev = process.inbox(), process.events()
  local function note(e)
    if e.kind == process.event.CANCEL then
      events[#events + 1] = "cancel#" .. e.from .. "#" .. tostring(e.reason)
    else
      local what = e.kind == process.event.EXIT and "exit" or "down"
      local how = e.error and tostring(e.error) or ("ok=" .. tostring(e.result.value))
      events[#events + 1] = what .. "#" .. e.from .. "#" .. how
    end
  end
  local function report()
    while true do
      local r = channel.select{ ev:case_receive(), default = true }
      if r.default then break end
      note(r.value)
    end
    process.send(root, "report", name, data, events)
  end
  while true do
    local r = channel.select{ ev:case_receive(), inbox:case_receive() }
    if r.channel == ev then
      note(r.value)
    else
      local m = r.value
      local t, p = m:topic(), m:payload()
      p = p and p:data()
      if t == "data" then
        data[#data + 1] = p
      elseif t == "fail" then
        report()
        error("fail", 0)
      elseif t == "finish" then
        report()
        return #data
      elseif t == "trap" then
        local ok, err = process.set_options({trap_links = p})
        process.send(root, "ack", tostring(ok), tostring(err))
      else
        local ok, err = process[t](p)
        process.send(root, "ack", tostring(ok), tostring(err))
      end
    end
  end
end
return { worker = worker, main = MAIN }
"##;

const DRIVER_HEAD: &str = r##"
local W, NAME = {}, {}
NAME[process.pid()] = "root"
local bad = {}
local function fail(msg)
  bad[#bad + 1] = msg
  print("MISMATCH " .. msg)
end
-- check(what, expected_1, expected_2, call results...): the call goes last so that all its
-- results reach here.
local function check(what, ea, eb, a, b)
  a, b = tostring(a), tostring(b)
  if a ~= ea or b ~= eb then
    fail(what .. ": got " .. a .. ", " .. b .. "; expected " .. ea .. ", " .. eb)
  end
end
local acks, reports = process.listen("ack"), process.listen("report")
local function ack(what, ea, eb)
  local r = channel.select{ acks:case_receive(), time.after("500ms"):case_receive() }
  if r.channel ~= acks then return fail(what .. ": no ack") end
  check(what, ea, eb, r.value[1], r.value[2])
end
local function gone(i) return process.registry.lookup("w" .. i) == nil end
local function wait_dead(what, i)
  for n = 1, 300 do
    if gone(i) then return end
    if n < 200 then coroutine.yield() else time.sleep("1ms") end
  end
  fail(what .. ": w" .. i .. " did not end")
end
local function expect_alive(what, i)
  if gone(i) then fail(what .. ": w" .. i .. " ended") end
end
local function spawn(what, f, i, trap)
  local pid, err = process[f]("sched:worker", "app:processes", "w" .. i, process.pid(), trap)
  check(what, "string", "nil", type(pid), err)
  W[i], NAME[pid] = pid, "w" .. i
  check(what .. " register", "true", "nil", process.registry.register("w" .. i, pid))
  ack(what .. " started", "ready", "nil")
end
local function named(s)
  local kind, pid, rest = s:match("^(%a+)#([^#]*)#(.*)$")
  return kind .. ":" .. tostring(NAME[pid] or pid) .. ":" .. rest
end
local function same_set(what, got, want)
  table.sort(got)
  table.sort(want)
  local a, b = table.concat(got, ", "), table.concat(want, ", ")
  if a ~= b then fail(what .. ": got {" .. a .. "}; expected {" .. b .. "}") end
end
local function main()
  process.set_options({trap_links = true})
"##;

const DRIVER_TAIL: &str = r##"
  -- the root's own events
  local ev, got = process.events(), {}
  while true do
    local r = channel.select{ ev:case_receive(), time.after("2ms"):case_receive() }
    if r.channel ~= ev then break end
    local e = r.value
    local what = e.kind == process.event.EXIT and "exit" or "down"
    local how = e.error and tostring(e.error) or ("ok=" .. tostring(e.result.value))
    got[#got + 1] = named(what .. "#" .. e.from .. "#" .. how)
  end
  same_set("root events", got, ROOT_EVENTS)
  -- the workers' reports
  local seen = {}
  while true do
    local r = channel.select{ reports:case_receive(), default = true }
    if r.default then break end
    local name, data, events = r.value[1], r.value[2], r.value[3]
    local want = REPORTS[name]
    if seen[name] then fail(name .. ": two reports") end
    seen[name] = true
    if not want then
      fail(name .. ": unexpected report")
    else
      local a, b = table.concat(data, ","), table.concat(want.data, ",")
      if a ~= b then fail(name .. " messages: got [" .. a .. "]; expected [" .. b .. "]") end
      local evs = {}
      for _, s in ipairs(events) do evs[#evs + 1] = named(s) end
      same_set(name .. " events", evs, want.events)
    end
  end
  for name in pairs(REPORTS) do
    if not seen[name] then fail(name .. ": no report") end
  end
  if #bad > 0 then return false end
  return true
end
"##;

struct Script {
    model: Model,
    out: String,
    step: usize,
}

impl Script {
    fn line(&mut self, s: &str) {
        self.out.push_str("  ");
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// A worker index (1-based) from a fuzz byte, or None when there is none yet.
    fn worker(&self, b: u8) -> Option<Id> {
        let n = self.model.alive.len();
        (n > 0).then(|| b as usize % n + 1)
    }

    /// Waits for `ended` to end, then checks every other worker that should be alive is.
    fn settle(&mut self, what: &str, ended: &[Id]) {
        for w in ended {
            self.line(&format!("wait_dead({}, {w})", lit(what)));
        }
        for w in 1..=self.model.alive.len() {
            if self.model.alive(w) {
                self.line(&format!("expect_alive({}, {w})", lit(what)));
            }
        }
    }

    fn op(&mut self, op: Op) {
        self.step += 1;
        let what = format!("step {} {op:?}", self.step);
        let w_ = lit(&what);
        match op {
            Op::Spawn { kind, trap } => {
                if self.model.alive.len() >= MAX_WORKERS {
                    return;
                }
                let m = &mut self.model;
                m.alive.push(true);
                m.trap.push(trap);
                m.data.push(Vec::new());
                m.events.push(Vec::new());
                let i = m.alive.len();
                let f = match kind {
                    SpawnKind::Plain => "spawn",
                    SpawnKind::Monitored => "spawn_monitored",
                    SpawnKind::Linked => "spawn_linked",
                    SpawnKind::LinkedMonitored => "spawn_linked_monitored",
                };
                if matches!(kind, SpawnKind::Monitored | SpawnKind::LinkedMonitored) {
                    m.monitors.insert((0, i));
                }
                if matches!(kind, SpawnKind::Linked | SpawnKind::LinkedMonitored) {
                    m.links.insert((0, i));
                }
                self.line(&format!("spawn({w_}, \"{f}\", {i}, {trap})"));
            }
            Op::Send { w, by_name } => {
                let Some(w) = self.worker(w) else { return };
                self.model.seq += 1;
                let seq = self.model.seq;
                let dest = if by_name {
                    format!("\"w{w}\"")
                } else {
                    format!("W[{w}]")
                };
                let (ea, eb) = if self.model.alive(w) {
                    self.model.data[w - 1].push(seq);
                    ("true", "nil".to_string())
                } else if by_name {
                    (
                        "nil",
                        format!("could not resolve 'w{w}' as PID or registered name"),
                    )
                } else {
                    ("nil", "process not found".to_string())
                };
                self.line(&format!(
                    "check({w_}, \"{ea}\", {}, process.send({dest}, \"data\", {seq}))",
                    lit(&eb)
                ));
            }
            Op::Fail { w } | Op::Finish { w } => {
                let Some(w) = self.worker(w) else { return };
                let (topic, how) = match op {
                    Op::Fail { .. } => ("fail", Some("fail")),
                    _ => ("finish", None),
                };
                if !self.model.alive(w) {
                    self.line(&format!(
                        "check({w_}, \"nil\", \"process not found\", process.send(W[{w}], \"{topic}\"))"
                    ));
                    return;
                }
                // Its report is its model state as it ends (frozen once dead).
                self.model.reports.insert(w);
                let ended = self.model.end(w, how);
                self.line(&format!(
                    "check({w_}, \"true\", \"nil\", process.send(W[{w}], \"{topic}\"))"
                ));
                self.settle(&what, &ended);
            }
            Op::Terminate { w } => {
                let Some(w) = self.worker(w) else { return };
                if !self.model.alive(w) {
                    self.line(&format!(
                        "check({w_}, \"nil\", \"process not found\", process.terminate(W[{w}]))"
                    ));
                    return;
                }
                let ended = self.model.end(w, Some("process terminated"));
                self.line(&format!(
                    "check({w_}, \"true\", \"nil\", process.terminate(W[{w}]))"
                ));
                self.settle(&what, &ended);
            }
            Op::Cancel { w } => {
                let Some(w) = self.worker(w) else { return };
                let reason = format!("r{}", self.step);
                if self.model.alive(w) {
                    self.model.events[w - 1].push(format!("cancel:root:{reason}"));
                    self.line(&format!(
                        "check({w_}, \"true\", \"nil\", process.cancel(W[{w}], \"{reason}\"))"
                    ));
                } else {
                    self.line(&format!(
                        "check({w_}, \"nil\", \"process not found\", process.cancel(W[{w}], \"{reason}\"))"
                    ));
                }
            }
            Op::Root { op, w } => {
                let Some(w) = self.worker(w) else { return };
                let (f, ea, eb) = self.relate(0, w, op);
                self.line(&format!(
                    "check({w_}, \"{ea}\", {}, process.{f}(W[{w}]))",
                    lit(eb)
                ));
            }
            Op::Worker { op, w, other } => {
                let (Some(a), Some(b)) = (self.worker(w), self.worker(other)) else {
                    return;
                };
                if a == b || !self.model.alive(a) {
                    return;
                }
                let (f, ea, eb) = self.relate(a, b, op);
                self.line(&format!("process.send(W[{a}], \"{f}\", W[{b}])"));
                self.line(&format!("ack({w_}, \"{ea}\", {})", lit(eb)));
            }
            Op::Trap { w, on } => {
                let Some(w) = self.worker(w) else { return };
                if !self.model.alive(w) {
                    return;
                }
                self.model.trap[w - 1] = on;
                self.line(&format!("process.send(W[{w}], \"trap\", {on})"));
                self.line(&format!("ack({w_}, \"true\", \"nil\")"));
            }
        }
    }

    /// Applies link / unlink / monitor / unmonitor of `b` by `a` to the model and returns
    /// the function name and the results it must give.
    fn relate(&mut self, a: Id, b: Id, op: RootOp) -> (&'static str, &'static str, &'static str) {
        let m = &mut self.model;
        let b_alive = m.alive(b);
        match op {
            RootOp::Link if !b_alive => ("link", "nil", "pid not registered"),
            RootOp::Link => {
                m.links.insert(link_key(a, b));
                ("link", "true", "nil")
            }
            RootOp::Unlink => {
                m.links.remove(&link_key(a, b));
                ("unlink", "true", "nil")
            }
            RootOp::Monitor if !b_alive => ("monitor", "nil", "pid not registered"),
            RootOp::Monitor if m.monitors.contains(&(a, b)) => {
                ("monitor", "nil", "already monitoring pid")
            }
            RootOp::Monitor => {
                m.monitors.insert((a, b));
                ("monitor", "true", "nil")
            }
            RootOp::Unmonitor => {
                m.monitors.remove(&(a, b));
                // "After unmonitor no EXIT from that process may arrive": one already queued
                // is dropped too. The root reads its events only at the end, so all of its
                // are still queued; a worker has always read its own by then (it reads
                // events before commands).
                if a == 0 {
                    let gone = format!("exit:w{b}:");
                    m.root_events.retain(|e| !e.starts_with(&gone));
                }
                ("unmonitor", "true", "nil")
            }
        }
    }

    fn finish(mut self, ops: &[Op]) -> String {
        for op in ops.iter().take(48) {
            self.op(*op);
        }
        // Finish every live worker, one at a time.
        for w in 1..=self.model.alive.len() {
            if self.model.alive(w) {
                self.op(Op::Finish { w: (w - 1) as u8 });
            }
        }
        let m = &self.model;
        let mut text = String::from(DRIVER_HEAD);
        text.push_str(&self.out);
        text.push_str(DRIVER_TAIL);
        let mut head = String::from("local ROOT_EVENTS = {");
        for e in &m.root_events {
            let _ = write!(head, "{}, ", lit(e));
        }
        head.push_str("}\nlocal REPORTS = {\n");
        for w in &m.reports {
            let data: Vec<String> = m.data[w - 1].iter().map(u32::to_string).collect();
            let _ = write!(
                head,
                "  w{w} = {{ data = {{{}}}, events = {{",
                data.join(", ")
            );
            for e in &m.events[w - 1] {
                let _ = write!(head, "{}, ", lit(e));
            }
            head.push_str("} },\n");
        }
        head.push_str("}\n");
        format!("{head}{text}{}", WORKER.replace("MAIN", "main"))
    }
}

const MANIFEST: &str = "namespace: sched
entries:
  - name: root
    kind: process.lua
    source: file://sched.lua
    method: main
  - name: worker
    kind: process.lua
    source: file://sched.lua
    method: worker
";

thread_local! {
    static SCRATCH: Scratch = Scratch::new("scheduler_ops");
}

fuzz_target!(|ops: Vec<Op>| {
    let script = Script {
        model: Model::default(),
        out: String::new(),
        step: 0,
    }
    .finish(&ops);
    let files = vec![
        ("_index.yaml".to_string(), MANIFEST.to_string()),
        ("sched.lua".to_string(), script.clone()),
    ];
    if std::env::var_os("MOONHOST_FUZZ_PRINT").is_some() {
        eprintln!("{script}");
    }
    // A small slice: preemption lands anywhere in the driver and the workers.
    let slice = 500;
    SCRATCH.with(|s| {
        let dir = s.write(&files);
        let report = run_app(
            dir,
            "sched:root",
            // The virtual clock: timeouts cost no wall time and runs repeat exactly.
            moonhost::Runtime::builder()
                .seed(1)
                .instruction_slice(slice),
            Duration::from_secs(5),
            Duration::from_secs(2),
        );
        let out = String::from_utf8_lossy(&report.output);
        match &report.outcome {
            RunOutcome::Exited(e) => match &e.exit {
                Exit::Normal(Payload::Bool(false)) => {
                    panic!("the driver found mismatches:\n{out}\n--- script:\n{script}")
                }
                Exit::Normal(_) => {}
                Exit::Error(err) => {
                    panic!("the driver failed: {err}\n{out}\n--- script:\n{script}")
                }
            },
            other => panic!("the driver did not end: {other:?}\n{out}\n--- script:\n{script}"),
        }
        assert_eq!(
            report.left,
            Stats::default(),
            "records left after shutdown + collect"
        );
    });
});
