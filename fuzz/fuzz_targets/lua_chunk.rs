//! `lua_chunk`: random Lua programs over the process / channel / time API, run under tight
//! limits, must never panic the host, hang it, or leak.
//!
//! The input drives a small grammar (see `Gen::stmt`): spawns of every kind, sends (to
//! live, dead, named and bogus destinations; with tables, functions, channels, payload
//! objects), listens and unlistens, receives and selects with short timeouts, plain
//! channels with sends/closes, sleeps / timers / tickers / afters of a few ms, bounded loops,
//! busy loops and allocations, errors, pcall, user coroutines (wrap, create/resume,
//! `coroutine.spawn`), links, monitors, terminate, cancel, trap_links, the name registry;
//! and the hostile kind (issue 11): metatables with `__gc` (refused), `__close`,
//! `__tostring` and `__index` running blocks, blocks where Lua cannot yield (sort
//! comparators, gsub callbacks, load readers), C-heavy library calls with huge or
//! pathological arguments (backtracking patterns, rep/pack/move/unpack sizes, full
//! collections over many tables), and loops that never return where Lua cannot yield.
//! It becomes an app in a scratch folder: one `_index.yaml`, a generated `fz:main` and three
//! generated worker entries (two `process.lua`, one `function.lua`), plus a fixed root that
//! runs `fz:main` as a monitored child and ends shortly after it (so workers keep running
//! when `main` fails early).
//!
//! The run: the real clock for one input in four, else the seeded virtual clock (idle time
//! skipped, runs repeat exactly); instruction slice of 200, per-process heap of 4 MiB, 3M
//! instructions per process, 24 processes, mailboxes of 64, a 64 MiB runtime ceiling, and
//! `run(Some(200 ms))`. Checked: no panic anywhere (libFuzzer's panic hook aborts even on
//! panics the runtime catches), `run` returns `Ok` within the limit plus 1.5 s of slack (the
//! sanitizer build is slow; libFuzzer's `-timeout` catches true hangs), the host stays live
//! (on the real clock the root's 10 ms ticker is never more than 150 ms late, in any of
//! three runs of the input), and after
//! `shutdown()` + `collect()` no process, task, channel, wait, timer, name or subscription
//! is left. LeakSanitizer checks Rust/C leaks per input.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use moonhost::runtime::Stats;
use moonhost::{Exit, RunOutcome};
use moonhost_fuzz::{Scratch, run_app, tight_limits};
use std::fmt::Write as _;
use std::time::Duration;

const WORKERS: usize = 3;
const TOPICS: &[&str] = &["a", "b", "c", "@x", ""];

/// Prepended to every generated file: small helpers the statements call, so a few bytes of
/// input make a meaningful statement. `P` holds PIDs, `C` channels, `T` timers and tickers,
/// `R` the last value received.
const PRELUDE: &str = r#"
local P, C, T, R = {}, {}, {}, nil
local function pick(i)
  if #P == 0 then return process.pid() end
  return P[(i % #P) + 1]
end
local function ch(i)
  if #C == 0 then C[1] = channel.new(1) end
  return C[(i % #C) + 1]
end
local function wait(c, ms)
  if c == nil then return nil end
  local r = channel.select{ c:case_receive(), time.after(ms * 1000000 + 1):case_receive() }
  if r.channel == c then R = r.value end
  return r
end
local function poke(i)
  local m = R
  if type(m) == "userdata" then
    pcall(function()
      local _ = tostring(m) .. m:topic() .. m:from()
      local p = m:payload()
      if type(p) == "userdata" then R = p; local _ = p:data() end
      if type(p) == "table" and p[1] then R = p[1]:data() end
    end)
  elseif type(m) == "table" then
    pcall(function()
      local _ = m.kind, m.from, tostring(m.result), m.error
      if m.from then P[#P + 1] = m.from end
    end)
  end
end
"#;

struct Gen<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    out: String,
    /// Statements left for the whole file.
    budget: usize,
    indent: usize,
}

impl Gen<'_, '_> {
    fn n(&mut self, max: u32) -> u32 {
        self.u.int_in_range(0..=max).unwrap_or(0)
    }

    fn flip(&mut self) -> bool {
        self.u.arbitrary().unwrap_or(false)
    }

    fn line(&mut self, s: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// Mostly good topics; now and then `@x` or the empty topic, which are refused.
    fn topic(&mut self) -> &'static str {
        let i = self.n(15) as usize;
        TOPICS[if i < 14 { i % 3 } else { i - 11 }]
    }

    fn dur(&mut self) -> String {
        match self.n(3) {
            0 => format!("\"{}ms\"", self.n(5)),
            1 => format!("{}", self.n(3_000_000)),
            2 => format!("\"{}us\"", self.n(2000)),
            _ => ["\"0\"", "0", "-1", "\"x\"", "\"1.5ms\""][self.n(4) as usize].to_string(),
        }
    }

    fn expr(&mut self, depth: u32) -> String {
        let k = if depth == 0 { self.n(9) } else { self.n(15) };
        match k {
            0 => "nil".into(),
            1 => format!("{}", self.flip()),
            2 => format!("{}", self.u.arbitrary::<i64>().unwrap_or(0)),
            3 => format!("{}", self.n(10)),
            4 => format!("{:?}", self.u.arbitrary::<f64>().unwrap_or(0.5))
                .replace("inf", "math.huge")
                .replace("NaN", "(0/0)"),
            5 => format!("\"s{}\"", self.n(99)),
            6 => "process.pid()".into(),
            7 => "R".into(),
            8 => format!("pick({})", self.n(7)),
            9 => format!("string.rep(\"y\", {})", self.n(3000)),
            10 => "P".into(),
            11 => "function() end".into(),
            12 => format!("ch({})", self.n(7)),
            13 => "A".into(),
            _ => {
                let mut s = String::from("{");
                for _ in 0..self.n(3) {
                    let e = self.expr(depth - 1);
                    if self.flip() {
                        let _ = write!(s, "k{} = {e}, ", self.n(3));
                    } else {
                        let _ = write!(s, "{e}, ");
                    }
                }
                s.push('}');
                s
            }
        }
    }

    fn chan_expr(&mut self) -> String {
        match self.n(5) {
            0 => "process.inbox()".into(),
            1 => "process.events()".into(),
            2 => format!("process.listen(\"{}\")", self.topic()),
            _ => format!("ch({})", self.n(7)),
        }
    }

    fn block(&mut self, depth: u32) {
        self.indent += 1;
        let n = self.n(3) + 1;
        for _ in 0..n {
            self.stmt(depth);
        }
        self.indent -= 1;
    }

    fn stmt(&mut self, depth: u32) {
        if self.budget == 0 || self.u.is_empty() {
            return;
        }
        self.budget -= 1;
        let pick = self.n(7);
        let kinds = 40;
        let k = self.n(kinds);
        match k {
            0 | 1 => {
                let f = [
                    "spawn",
                    "spawn_monitored",
                    "spawn_linked",
                    "spawn_linked_monitored",
                ][self.n(3) as usize];
                let target = match self.n(7) {
                    6 => "\"fz:nope\"".to_string(),
                    7 => "\"fz:root\"".to_string(),
                    i => format!("\"fz:w{}\"", i as usize % WORKERS),
                };
                let host = if self.n(9) == 0 {
                    "\"nohost\""
                } else {
                    "\"app:processes\""
                };
                let arg = self.expr(2);
                self.line(&format!("P[#P + 1] = process.{f}({target}, {host}, {arg})"));
            }
            2 | 3 => {
                let dest = match self.n(5) {
                    0 => "\"n1\"".to_string(),
                    1 => "\"{app:processes|999}\"".to_string(),
                    2 => "process.pid()".to_string(),
                    _ => format!("pick({pick})"),
                };
                let topic = self.topic();
                let mut args = String::new();
                for _ in 0..self.n(2) {
                    let e = self.expr(2);
                    let _ = write!(args, ", {e}");
                }
                self.line(&format!("process.send({dest}, \"{topic}\"{args})"));
            }
            4 => {
                let topic = self.topic();
                let opts = if self.flip() {
                    ", {message = true}"
                } else {
                    ""
                };
                self.line(&format!("C[#C + 1] = process.listen(\"{topic}\"{opts})"));
            }
            5 | 6 => {
                let c = self.chan_expr();
                let ms = self.n(6);
                self.line(&format!("wait({c}, {ms}); poke({pick})"));
            }
            7 => {
                let c = self.chan_expr();
                self.line(&format!("R = {c}:receive(); poke({pick})"));
            }
            8 => {
                let size = self.n(3) as i32 - 1;
                self.line(&format!("C[#C + 1] = channel.new({size})"));
            }
            9 => {
                let e = self.expr(1);
                let wrap = self.flip();
                let s = format!("ch({pick}):send({e})");
                self.line(&if wrap {
                    format!("pcall(function() {s} end)")
                } else {
                    s
                });
            }
            10 => self.line(&format!("ch({pick}):close()")),
            11 => {
                let a = self.chan_expr();
                let b = self.expr(1);
                let default = if self.flip() { ", default = true" } else { "" };
                self.line(&format!(
                    "pcall(function() local r = channel.select{{ {a}:case_receive(), ch({pick}):case_send({b}){default} }} R = r.value end)"
                ));
            }
            12 => {
                let d = self.dur();
                self.line(&format!("time.sleep({d})"));
            }
            13 => {
                let d = self.dur();
                self.line(&format!(
                    "T[#T + 1] = time.timer({d}); if T[#T] then C[#C + 1] = T[#T]:channel() end"
                ));
            }
            14 => {
                let d = self.dur();
                let what =
                    ["stop()", &format!("reset({d})"), "channel()"][self.n(2) as usize].to_string();
                self.line(&format!(
                    "if #T > 0 then pcall(function() T[({pick} % #T) + 1]:{what} end) end"
                ));
            }
            15 => {
                let d = self.dur();
                self.line(&format!(
                    "T[#T + 1] = time.ticker({d}); if T[#T] then C[#C + 1] = T[#T]:channel() end"
                ));
            }
            16 => {
                let d = self.dur();
                self.line(&format!("C[#C + 1] = time.after({d})"));
            }
            17 | 18 if depth > 0 => {
                let n = self.n(5);
                self.line(&format!("for i = 1, {n} do"));
                self.block(depth - 1);
                self.line("end");
            }
            19 if depth > 0 => {
                self.line("pcall(function()");
                self.block(depth - 1);
                self.line("end)");
            }
            20 => {
                if self.flip() {
                    self.line(&format!("error(\"boom{pick}\")"));
                } else {
                    self.line("error({code = 1})");
                }
            }
            21 if depth > 0 => {
                self.line("coroutine.wrap(function()");
                self.block(depth - 1);
                self.line("end)()");
            }
            22 if depth > 0 => {
                self.line("coroutine.spawn(function()");
                self.block(depth - 1);
                self.line("end)");
            }
            23 if depth > 0 => {
                self.line("do local co = coroutine.create(function(...)");
                self.block(depth - 1);
                self.line("  coroutine.yield(1)");
                self.block(depth - 1);
                self.line("end) coroutine.resume(co, 1) coroutine.resume(co) end");
            }
            24 | 25 => {
                let op = [
                    "link",
                    "unlink",
                    "monitor",
                    "unmonitor",
                    "terminate",
                    "cancel",
                ][self.n(5) as usize];
                self.line(&format!("process.{op}(pick({pick}))"));
            }
            26 => {
                let b = self.flip();
                self.line(&format!("process.set_options({{trap_links = {b}}})"));
            }
            27 => {
                let op = ["register", "lookup", "unregister"][self.n(2) as usize];
                let name = self.n(2);
                self.line(&format!("process.registry.{op}(\"n{name}\")"));
            }
            28 => self.line(&format!("process.unlisten(ch({pick}))")),
            29 => {
                let n = self.n(50) * 1000;
                self.line(&format!("for i = 1, {n} do end"));
            }
            30 => {
                let n = self.n(64);
                let m = self.n(20_000);
                self.line(&format!(
                    "do local t = {{}} for i = 1, {n} do t[i] = string.rep(\"x\", {m}) .. i end end"
                ));
            }
            31 => {
                let e = self.expr(2);
                let cond = self.flip();
                let s = match self.n(2) {
                    0 => format!("if {cond} then return {e} end"),
                    1 => format!("if {cond} then return {e}, \"failed{pick}\" end"),
                    _ => format!("if {cond} then process.terminate(process.pid()) end"),
                };
                self.line(&s);
            }
            32 => {
                let e = self.expr(2);
                self.line(&format!("print({e})"));
            }
            33 => self.line("collectgarbage()"),
            34 | 35 if depth > 0 => self.metamethod(depth - 1),
            36 | 37 if depth > 0 => self.cannot_yield(depth - 1),
            38 | 39 => self.c_heavy(),
            40 => self.spin_where_it_cannot_yield(),
            _ => {
                let e = self.expr(1);
                self.line(&format!("R = {e}"));
            }
        }
    }

    /// A metatable with `__gc` (refused), `__close`, `__tostring` or `__index` running a
    /// block (which may block, loop or fail).
    fn metamethod(&mut self, depth: u32) {
        let (head, tail) = match self.n(3) {
            0 => (
                "pcall(setmetatable, {}, { __gc = function()",
                "end })",
            ),
            1 => (
                "do local x <close> = setmetatable({}, { __close = function()",
                "end }) end",
            ),
            2 => (
                "pcall(tostring, setmetatable({}, { __tostring = function()",
                "  return \"t\" end }))",
            ),
            _ => (
                "pcall(function() return setmetatable({}, { __index = function(t, k)",
                "end }).x end)",
            ),
        };
        self.line(head);
        self.block(depth);
        self.line(tail);
    }

    /// A block run where Lua cannot yield: a sort comparator, a gsub callback, a load
    /// reader (blocking calls there raise; loops there are bounded as stuck).
    fn cannot_yield(&mut self, depth: u32) {
        let (head, tail) = match self.n(2) {
            0 => (
                "pcall(table.sort, { 3, 1, 2, 5, 4 }, function(a, b)",
                "  return a < b end)",
            ),
            1 => ("pcall(string.gsub, \"abc\", \"%w\", function(c)", "end)"),
            _ => ("pcall(load, function()", "  return nil end)"),
        };
        self.line(head);
        self.block(depth);
        self.line(tail);
    }

    /// A C library call that can be long or huge for its arguments.
    fn c_heavy(&mut self) {
        const PATTERNS: &[&str] = &[
            ".-.-.-b", "[y]", "a*a*a*b", "(a?)(a?)(a?)(a?)(a?)(a?)(a?)(a?)aaaaaaaa", "%bab",
            "^(.-)%s*$", "(.)%1", "a-a-a-a-b", "[%w_]*=", ".*.*x",
        ];
        let n = match self.n(3) {
            0 => u64::from(self.n(100)),
            1 => u64::from(self.n(40_000)),
            2 => 1u64 << self.n(22),
            _ => self.u.arbitrary::<i64>().unwrap_or(0) as u64,
        };
        let pat = PATTERNS[self.n(PATTERNS.len() as u32 - 1) as usize];
        let f = ["find", "match", "gsub", "gmatch"][self.n(3) as usize];
        let s = match self.n(11) {
            0 => format!("pcall(string.{f}, string.rep(\"a\", {}), \"{pat}\", \"\")", n % 40_000),
            1 => format!("pcall(string.rep, \"xy\", {n}, \",\")"),
            2 => format!("pcall(string.pack, \"c{n}\", \"\")"),
            3 => format!("pcall(table.move, {{}}, 1, {n}, 1, {{}})"),
            4 => format!("pcall(table.unpack, {{}}, 1, {n})"),
            5 => format!("pcall(collectgarbage, \"step\", {n})"),
            6 => format!("pcall(function() return string.rep(\"x\", {}):upper():reverse() end)", n % (1 << 22)),
            7 => format!("pcall(string.format, \"%{}d\", 1)", n % 120),
            8 => format!("pcall(table.concat, string.rep(\"x\", {}), \",\")", n % 1000),
            9 => format!("pcall(utf8.len, string.rep(\"\\u{{7ff}}\", {}))", n % (1 << 20)),
            10 => format!(
                "pcall(function() local t = {{}} for i = 1, {} do t[i] = {{}} end collectgarbage() collectgarbage() end)",
                n % 100_000
            ),
            _ => format!("pcall(string.rep, string.rep(\"x\", 1000), {n})"),
        };
        self.line(&s);
    }

    /// Lua that never returns where it cannot yield: the process must end as stuck.
    fn spin_where_it_cannot_yield(&mut self) {
        let s = match self.n(3) {
            0 => "pcall(table.sort, { 1, 2, 3 }, function() while true do end end)",
            1 => "pcall(tostring, setmetatable({}, { __tostring = function() while true do end end }))",
            2 => "pcall(string.gsub, \"x\", \"x\", function() while true do pcall(coroutine.wrap(function() for i = 1, 5000 do end end)) end end)",
            _ => "pcall(table.sort, { 1, 2, 3 }, function() while true do collectgarbage(\"step\") end end)",
        };
        self.line(s);
    }

    fn file(&mut self, statements: usize) -> String {
        self.out.clear();
        self.out.push_str(PRELUDE);
        self.out
            .push_str("local function main(...)\n  local A = {...}\n");
        self.budget = statements;
        self.indent = 1;
        while self.budget > 0 && !self.u.is_empty() {
            self.stmt(2);
        }
        let e = self.expr(1);
        self.line(&format!("return {e}"));
        self.out.push_str("end\nreturn { main = main }\n");
        std::mem::take(&mut self.out)
    }
}

/// The root: runs the generated `fz:main` as a monitored child, so that workers keep
/// running after `main` fails, and ends 5 ms after `main` does (or after 100 ms). Meanwhile
/// it keeps a 10 ms ticker; on the real clock a tick more than `LATE_MS` late (one slice of
/// another process held the thread that long) fails it with `host late`.
const DRIVER: &str = r#"
local LATE_NS = LATE_MS * 1000000
local function main()
  local pid = process.spawn_monitored("fz:main", "app:processes")
  local ev, deadline = process.events(), time.after("100ms")
  local tk = time.ticker("10ms")
  local ticks, last = tk:channel(), time.now()
  while true do
    local r = channel.select{ ev:case_receive(), ticks:case_receive(), deadline:case_receive() }
    local now = time.now()
    local late = now:sub(last):nanoseconds() - 10000000
    if CHECK_LATE and late > LATE_NS then error("host late: " .. late // 1000000 .. " ms") end
    if r.channel == ticks then last = now end
    if r.channel == deadline then return "timeout" end
    if r.channel == ev and r.value.kind == process.event.EXIT and r.value.from == pid then break end
  end
  tk:stop()
  time.sleep("5ms")
  return "done"
end
return { main = main }
"#;

/// How late the driver's ticker may be: the 50 ms slice bound, plus room for the sanitizer
/// build (C library calls and collections run 2-3x slower) and a shared machine.
const LATE_MS: u64 = 150;
/// Runs of one input before a late ticker counts as a finding (a loaded machine can
/// deschedule the runtime; a slice that truly holds the thread is late every time).
const LATE_TRIES: usize = 3;

const MANIFEST: &str = "namespace: fz
entries:
  - name: root
    kind: process.lua
    source: file://driver.lua
    method: main
  - name: main
    kind: process.lua
    source: file://root.lua
    method: main
  - name: w0
    kind: process.lua
    source: file://w0.lua
    method: main
  - name: w1
    kind: process.lua
    source: file://w1.lua
    method: main
  - name: w2
    kind: function.lua
    source: file://w2.lua
    method: main
";

thread_local! {
    static SCRATCH: Scratch = Scratch::new("lua_chunk");
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    // One run in four on the real clock (mio's poll, real sleeps); the rest on the seeded
    // virtual clock, which skips idle time and repeats exactly.
    let clock: u8 = u.arbitrary().unwrap_or(0);
    let mut g = Gen {
        u: &mut u,
        out: String::new(),
        budget: 0,
        indent: 0,
    };
    // The root gets the most statements; the rest of the input is shared by the workers.
    let real_clock = clock % 4 == 0;
    let driver = format!("local LATE_MS, CHECK_LATE = {LATE_MS}, {real_clock}\n{DRIVER}");
    let mut files = vec![
        ("driver.lua".to_string(), driver),
        ("root.lua".to_string(), g.file(24)),
    ];
    for w in 0..WORKERS {
        files.push((format!("w{w}.lua"), g.file(10)));
    }
    // No host entry: the app gets `app:processes`, with the builder's tight limits.
    files.push(("_index.yaml".to_string(), MANIFEST.to_string()));
    if std::env::var_os("MOONHOST_FUZZ_PRINT").is_some() {
        for (name, text) in &files {
            eprintln!("---- {name}\n{text}");
        }
    }
    SCRATCH.with(|s| {
        let dir = s.write(&files);
        for attempt in 1..=LATE_TRIES {
            let late = run_once(dir, clock, real_clock);
            match late {
                None => return,
                Some(e) if attempt == LATE_TRIES => {
                    panic!("the host was late in {LATE_TRIES} runs out of {LATE_TRIES}: {e}")
                }
                Some(_) => {}
            }
        }
    });
});

/// Runs the app in `dir` once; `Some(error)` when the driver found the host late.
fn run_once(dir: &std::path::Path, clock: u8, real_clock: bool) -> Option<String> {
    let mut builder = moonhost::Runtime::builder();
    if !real_clock {
        builder = builder.seed(u64::from(clock));
    }
    let builder = builder
        .instruction_slice(200)
        .limits(tight_limits())
        .memory_ceiling(64 << 20);
    let report = run_app(
        dir,
        "fz:root",
        builder,
        Duration::from_millis(200),
        Duration::from_millis(1500),
    );
    if std::env::var_os("MOONHOST_FUZZ_PRINT").is_some() {
        eprintln!("outcome: {:?} in {:?}", report.outcome, report.elapsed);
    }
    assert_eq!(
        report.left,
        Stats::default(),
        "records left after shutdown + collect (outcome {:?})",
        report.outcome
    );
    match report.outcome {
        RunOutcome::Exited(e) => match e.exit {
            Exit::Error(m) if m.contains("host late") => Some(m),
            _ => None,
        },
        _ => None,
    }
}
