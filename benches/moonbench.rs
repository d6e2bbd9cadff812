// moonbench: the workloads of BENCH.md, each next to a floor measured with raw mlua in the
// same run.
//
// Every workload is a Lua app under `benches/apps/<name>` written with the public API. A run
// builds a fresh `Runtime` (not timed), then times `spawn_root` + `run` from Rust; the app's
// root checks its own result and returns a table of figures (`ops`, and extras it measured
// with `time.now()` or `collectgarbage`). Each workload runs `--runs` times (3 by default, 1
// with `--quick`) and the median is reported. `idle_memory` runs in a child process of this
// binary so its RSS delta is not flattered by memory earlier runs freed.
//
// ```text
// cargo bench --bench moonbench                # full: BENCH.md sizes, 3 runs, < 5 min
// cargo bench --bench moonbench -- --quick     # small sizes, 1 run, < 30 s (CI)
// cargo bench --bench moonbench -- ring select # only rows whose name contains a filter
// cargo bench --bench moonbench -- --runs 5 --slice 100000   # more runs; another slice
// ```
//
// Prints one markdown table and writes it to `target/moonbench.md`. Exits 1 if any workload
// failed its own checks.

use mlua::{Function, Lua, LuaOptions, StdLib};
use moonhost::{App, Exit, Payload, RunOutcome, Runtime};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Longest a single workload run may take before it counts as hung (full, quick). Quick runs
/// take well under a second each, so a hang costs little of the 30 s budget.
const RUN_LIMIT: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(10)];
/// Marker of the line a child process prints its figures on.
const CHILD_TAG: &str = "MOONBENCH_CHILD";
/// Assumed page size for `/proc/self/statm` (x86-64 and aarch64 Linux defaults).
const PAGE: u64 = 4096;

// ---------------------------------------------------------------------------------------------
// options and sizes

#[derive(Debug)]
struct Opts {
    quick: bool,
    runs: usize,
    /// `--slice N`: the runtime's instruction slice (default: the runtime's own).
    slice: Option<u32>,
    filters: Vec<String>,
}

/// Workload sizes for one mode.
#[derive(Debug)]
struct Sizes {
    spawn: [u64; 2],
    ring_nodes: u64,
    ring_hops: u64,
    pingpong: u64,
    fan_producers: u64,
    fan_each: u64,
    selects: u64,
    timers: u64,
    timer_max_ns: u64,
    idle: [u64; 2],
    floor_ops: u64,
    floor_coroutines: u64,
    restarts: u64,
    info_procs: u64,
    tight_loop: u64,
}

const FULL: Sizes = Sizes {
    spawn: [10_000, 100_000],
    ring_nodes: 1_000,
    ring_hops: 1_000_000,
    pingpong: 1_000_000,
    fan_producers: 100,
    fan_each: 10_000,
    selects: 1_000_000,
    timers: 100_000,
    timer_max_ns: 1_000_000_000,
    idle: [10_000, 100_000],
    floor_ops: 1_000_000,
    floor_coroutines: 10_000,
    restarts: 10_000,
    info_procs: 100_000,
    tight_loop: 30_000_000,
};

const QUICK: Sizes = Sizes {
    spawn: [1_000, 10_000],
    ring_nodes: 100,
    ring_hops: 20_000,
    pingpong: 20_000,
    fan_producers: 10,
    fan_each: 2_000,
    selects: 20_000,
    timers: 2_000,
    timer_max_ns: 100_000_000,
    idle: [1_000, 10_000],
    floor_ops: 100_000,
    floor_coroutines: 10_000,
    restarts: 1_000,
    info_procs: 10_000,
    tight_loop: 3_000_000,
};

fn parse_args() -> Opts {
    let mut quick = false;
    let mut runs = None;
    let mut slice = None;
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--runs" => {
                runs = args.next().and_then(|n| n.parse::<usize>().ok());
                if runs.is_none_or(|n| n == 0) {
                    eprintln!("--runs needs a positive number");
                    std::process::exit(2);
                }
            }
            "--slice" => {
                slice = args.next().and_then(|n| n.parse::<u32>().ok());
                if slice.is_none() {
                    eprintln!("--slice needs a number of instructions");
                    std::process::exit(2);
                }
            }
            // cargo bench passes --bench; libtest-style flags are ignored too.
            s if s.starts_with('-') => {}
            s => filters.push(s.to_string()),
        }
    }
    Opts {
        quick,
        runs: runs.unwrap_or(if quick { 1 } else { 3 }),
        slice,
        filters,
    }
}

// ---------------------------------------------------------------------------------------------
// statistics and formatting

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Thousands separators, no decimals.
fn group(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let neg = x < 0.0;
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg { format!("-{out}") } else { out }
}

/// ns with one decimal below 100, grouped above.
fn ns(x: f64) -> String {
    if x < 100.0 {
        format!("{x:.1}")
    } else {
        group(x)
    }
}

// ---------------------------------------------------------------------------------------------
// floors: raw mlua with the runtime's Lua build and standard libraries

fn lua_state() -> Lua {
    Lua::new_with(StdLib::ALL_SAFE, LuaOptions::new()).expect("Lua state")
}

fn lua_fn(lua: &Lua, src: &str) -> Function {
    lua.load(src).eval().expect("floor chunk compiles")
}

/// A coroutine created and resumed to completion from Rust, one at a time: ns each.
fn floor_spawn(n: u64) -> f64 {
    let lua = lua_state();
    let f = lua_fn(&lua, "return function() end");
    let t = Instant::now();
    for _ in 0..n {
        let th = lua.create_thread(f.clone()).expect("thread");
        th.resume::<()>(()).expect("resume");
        black_box(&th);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// As [`floor_spawn`] with all `n` coroutines created first (alive at once), then each
/// resumed to completion: ns each.
fn floor_spawn_alive(n: u64) -> f64 {
    let lua = lua_state();
    let f = lua_fn(&lua, "return function() end");
    let t = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| lua.create_thread(f.clone()).expect("thread"))
        .collect();
    for th in &threads {
        th.resume::<()>(()).expect("resume");
    }
    let el = t.elapsed();
    drop(threads);
    el.as_nanos() as f64 / n as f64
}

/// One resume/yield round trip driven from Rust, the value passed through the yield: ns each.
fn floor_switch(n: u64) -> f64 {
    let lua = lua_state();
    let f = lua_fn(
        &lua,
        "return function(v) while true do v = coroutine.yield(v) end end",
    );
    let th = lua.create_thread(f).expect("thread");
    th.resume::<i64>(0).expect("first resume");
    let t = Instant::now();
    for i in 0..n as i64 {
        let v: i64 = th.resume(i).expect("resume");
        black_box(v);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// Lua heap bytes of one suspended coroutine: `used_memory` delta over `n` of them, kept in
/// a pre-sized Lua table.
fn floor_coroutine_bytes(n: u64) -> f64 {
    let lua = lua_state();
    let f = lua_fn(&lua, "return function() coroutine.yield() end");
    let keep = lua
        .create_table_with_capacity(n as usize, 0)
        .expect("table");
    lua.gc_collect().expect("gc");
    lua.gc_collect().expect("gc");
    let before = lua.used_memory();
    for i in 1..=n as i64 {
        let th = lua.create_thread(f.clone()).expect("thread");
        th.resume::<()>(()).expect("resume");
        keep.raw_set(i, th).expect("keep");
    }
    lua.gc_collect().expect("gc");
    lua.gc_collect().expect("gc");
    let after = lua.used_memory();
    black_box(&keep);
    (after as f64 - before as f64) / n as f64
}

/// A push onto a binary heap of (deadline, id): the least a timer arm can cost. ns each.
fn floor_heap_push(n: u64) -> f64 {
    let mut heap = BinaryHeap::with_capacity(n as usize);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let t = Instant::now();
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        heap.push(Reverse((x % 1_000_000_000, i)));
    }
    let el = t.elapsed();
    black_box(&heap);
    el.as_nanos() as f64 / n as f64
}

/// The tight loop of `benches/apps/tight_loop` in plain mlua (no hook): ns per iteration.
fn floor_tight_loop(n: u64) -> f64 {
    let lua = lua_state();
    let f = lua_fn(
        &lua,
        "return function(n) local s = 0 for i = 1, n do s = s + i end return s end",
    );
    let t = Instant::now();
    let s: i64 = f.call(n as i64).expect("loop runs");
    let el = t.elapsed();
    black_box(s);
    el.as_nanos() as f64 / n as f64
}

#[derive(Debug, Clone, Copy)]
struct Floors {
    spawn: f64,
    spawn_alive: f64,
    switch: f64,
    coroutine_bytes: f64,
    heap_push: f64,
    tight_loop: f64,
}

fn measure_floors(s: &Sizes, runs: usize) -> Floors {
    let m = |f: &dyn Fn() -> f64| median(&(0..runs.max(3)).map(|_| f()).collect::<Vec<_>>());
    let spawn_n = s.spawn[1];
    Floors {
        spawn: m(&|| floor_spawn(spawn_n)),
        spawn_alive: m(&|| floor_spawn_alive(spawn_n)),
        switch: m(&|| floor_switch(s.floor_ops)),
        coroutine_bytes: m(&|| floor_coroutine_bytes(s.floor_coroutines)),
        heap_push: m(&|| floor_heap_push(s.floor_ops)),
        tight_loop: m(&|| floor_tight_loop(s.tight_loop)),
    }
}

// ---------------------------------------------------------------------------------------------
// running an app

/// One run of a workload app.
#[derive(Debug, Default, Clone)]
struct Sample {
    /// spawn_root + run, measured from Rust.
    total_ns: f64,
    /// Numbers from the table the root returned.
    figs: HashMap<String, f64>,
    /// RSS before spawn_root and after run (idle_memory only).
    rss: Option<(u64, u64)>,
}

impl Sample {
    fn fig(&self, k: &str) -> f64 {
        self.figs.get(k).copied().unwrap_or(f64::NAN)
    }
}

fn apps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/apps")
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|r| r.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * PAGE)
}

fn figures(p: &Payload) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    if let Payload::Table(t) = p {
        for (k, v) in &t.entries {
            let Payload::Str(k) = k else { continue };
            let v = match v {
                Payload::Int(i) => *i as f64,
                Payload::Num(n) => *n,
                _ => continue,
            };
            out.insert(String::from_utf8_lossy(k).into_owned(), v);
        }
    }
    out
}

/// Builds a fresh runtime for app `name` and times `bench.<name>:main args...`.
/// How a workload runtime is set up.
#[derive(Debug, Clone, Copy)]
struct RunCfg {
    /// Longest run before it counts as hung.
    limit: Duration,
    /// Instruction slice, if not the runtime's default.
    slice: Option<u32>,
}

fn run_app(name: &str, args: &[String], with_rss: bool, cfg: RunCfg) -> Result<Sample, String> {
    let app = App::load(apps_dir().join(name)).map_err(|e| format!("load: {e}"))?;
    let mut builder = Runtime::builder().output(std::io::sink());
    if let Some(n) = cfg.slice {
        builder = builder.instruction_slice(n);
    }
    let mut rt = builder.build(&app).map_err(|e| format!("build: {e}"))?;
    let entry = format!("bench.{name}:main");
    let rss0 = if with_rss { rss_bytes() } else { 0 };
    let t = Instant::now();
    rt.spawn_root(&entry, args)
        .map_err(|e| format!("spawn_root: {e}"))?;
    let limit = cfg.limit;
    let out = rt.run(Some(limit)).map_err(|e| format!("run: {e}"))?;
    let total_ns = t.elapsed().as_nanos() as f64;
    let rss = with_rss.then(|| (rss0, rss_bytes()));
    let figs = match out {
        RunOutcome::Exited(root) => match root.exit {
            Exit::Normal(p) => figures(&p),
            Exit::Error(e) => return Err(format!("root failed: {e}")),
        },
        RunOutcome::TimedOut => return Err(format!("timed out after {limit:?}")),
        RunOutcome::Deadlock => {
            return Err("deadlock: the root is blocked and nothing can wake it".into());
        }
        #[allow(unreachable_patterns)]
        other => return Err(format!("run ended: {other:?}")),
    };
    // Dropping a runtime with many live processes is not part of the measurement.
    drop(rt);
    Ok(Sample {
        total_ns,
        figs,
        rss,
    })
}

/// Runs `name` in a child process of this binary (fresh heap, so RSS deltas are honest).
fn run_app_in_child(name: &str, args: &[String], cfg: RunCfg) -> Result<Sample, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(exe)
        .arg("--child")
        .arg(cfg.limit.as_millis().to_string())
        .arg(cfg.slice.map_or("-".to_string(), |n| n.to_string()))
        .arg(name)
        .args(args)
        .output()
        .map_err(|e| format!("child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix(CHILD_TAG)) else {
        return Err(format!(
            "child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    };
    let mut s = Sample::default();
    for kv in line.split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let v: f64 = v.parse().map_err(|_| format!("child: bad figure {kv}"))?;
        match k {
            "total_ns" => s.total_ns = v,
            "rss0" => s.rss = Some((v as u64, s.rss.map_or(0, |r| r.1))),
            "rss1" => s.rss = Some((s.rss.map_or(0, |r| r.0), v as u64)),
            _ => {
                s.figs.insert(k.to_string(), v);
            }
        }
    }
    Ok(s)
}

/// `--child <limit_ms> <slice|-> <app> args...`: one run, figures on one tagged line.
fn child_main(args: &[String]) -> ! {
    let [ms, slice, name, rest @ ..] = args else {
        eprintln!("usage: --child <limit_ms> <slice|-> <app> [args...]");
        std::process::exit(2);
    };
    let cfg = RunCfg {
        limit: Duration::from_millis(ms.parse().unwrap_or(60_000)),
        slice: slice.parse().ok(),
    };
    match run_app(name, rest, true, cfg) {
        Ok(s) => {
            let (r0, r1) = s.rss.unwrap_or((0, 0));
            let mut line = format!("{CHILD_TAG} total_ns={} rss0={r0} rss1={r1}", s.total_ns);
            let mut keys: Vec<_> = s.figs.keys().collect();
            keys.sort();
            for k in keys {
                let _ = write!(line, " {k}={}", s.figs[k]);
            }
            println!("{line}");
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the report

/// One table row.
#[derive(Debug)]
struct Row {
    name: String,
    size: String,
    /// Median ns per operation (the workload's headline figure).
    ns_op: f64,
    /// The floor: value and how to show it.
    floor: Option<(f64, String)>,
    /// Headline figure / floor (for idle_memory: Lua heap bytes / floor bytes).
    ratio: Option<f64>,
    extra: String,
    failed: Option<String>,
}

impl Row {
    fn failed(name: &str, size: String, why: String) -> Row {
        Row {
            name: name.into(),
            size,
            ns_op: f64::NAN,
            floor: None,
            ratio: None,
            extra: String::new(),
            failed: Some(why),
        }
    }
}

/// Median of `f` over the samples.
fn med(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    median(&samples.iter().map(f).collect::<Vec<_>>())
}

/// "min–max" of the per-op figure, a noise indicator.
fn spread(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> String {
    if samples.len() < 2 {
        return String::new();
    }
    let v: Vec<f64> = samples.iter().map(f).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("runs {}–{} ns", ns(lo), ns(hi))
}

/// Joins the non-empty parts with "; ".
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("; ")
}

fn per_op(s: &Sample) -> f64 {
    s.total_ns / s.fig("ops")
}

struct Bench<'a> {
    opts: &'a Opts,
    sizes: &'a Sizes,
    floors: Floors,
    rows: Vec<Row>,
}

/// One workload row to run: app `bench.<app>:main` with `args` then `extra_args`.
#[derive(Debug, Default)]
struct Job<'a> {
    name: &'a str,
    app: &'a str,
    size: String,
    args: Vec<u64>,
    extra_args: Vec<&'a str>,
    /// Run each sample in a child process (fresh heap, honest RSS).
    child: bool,
}

impl Bench<'_> {
    fn wanted(&self, name: &str) -> bool {
        self.opts.filters.is_empty() || self.opts.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Runs one workload row; `make` turns the samples into the row.
    fn row(&mut self, job: Job<'_>, make: impl FnOnce(&[Sample], &Floors) -> Row) -> Option<usize> {
        if !self.wanted(job.name) {
            return None;
        }
        eprintln!(
            "moonbench: {} {} x{} ...",
            job.name, job.size, self.opts.runs
        );
        let cfg = RunCfg {
            limit: RUN_LIMIT[usize::from(self.opts.quick)],
            slice: self.opts.slice,
        };
        let mut args: Vec<String> = job.args.iter().map(u64::to_string).collect();
        args.extend(job.extra_args.iter().map(|s| s.to_string()));
        let samples: Result<Vec<Sample>, String> = (0..self.opts.runs)
            .map(|_| {
                if job.child {
                    run_app_in_child(job.app, &args, cfg)
                } else {
                    run_app(job.app, &args, false, cfg)
                }
            })
            .collect();
        let row = match samples {
            Ok(samples) => Row {
                name: job.name.into(),
                size: job.size,
                ..make(&samples, &self.floors)
            },
            Err(e) => {
                eprintln!("moonbench: {} FAILED: {e}", job.name);
                Row::failed(job.name, job.size, e)
            }
        };
        self.rows.push(row);
        Some(self.rows.len() - 1)
    }

    fn ns_of(&self, i: Option<usize>) -> Option<f64> {
        i.and_then(|i| self.rows[i].failed.is_none().then_some(self.rows[i].ns_op))
    }
}

fn simple_row(samples: &[Sample], floor: f64, floor_label: String, extra: String) -> Row {
    let ns_op = med(samples, per_op);
    Row {
        name: String::new(),
        size: String::new(),
        ns_op,
        floor: Some((floor, floor_label)),
        ratio: Some(ns_op / floor),
        extra: join(&[&extra, &spread(samples, per_op)]),
        failed: None,
    }
}

/// Median of the app's own `loop_ns` per operation.
fn loop_only(sm: &[Sample]) -> f64 {
    med(sm, |x| x.fig("loop_ns") / x.fig("ops"))
}

fn switches(f: &Floors, n: f64) -> (f64, String) {
    let what = if n == 1.0 { "switch" } else { "switches" };
    (
        n * f.switch,
        format!("{} ns ({n} {what})", ns(n * f.switch)),
    )
}

fn run_all(opts: &Opts) -> Bench<'_> {
    let s = if opts.quick { &QUICK } else { &FULL };
    eprintln!("moonbench: floors ...");
    let floors = measure_floors(s, opts.runs);
    let mut b = Bench {
        opts,
        sizes: s,
        floors,
        rows: Vec::new(),
    };

    // spawn_exit at two sizes (linearity).
    let mut spawn_rows = Vec::new();
    for n in s.spawn {
        let job = Job {
            name: "spawn_exit",
            app: "spawn_exit",
            size: group(n as f64),
            args: vec![n],
            ..Job::default()
        };
        spawn_rows.push(b.row(job, |sm, f| {
            let extra = format!(
                "floor with all alive: {} ns ({:.2}x)",
                ns(f.spawn_alive),
                med(sm, per_op) / f.spawn_alive
            );
            simple_row(
                sm,
                f.spawn,
                format!("{} ns create+finish", ns(f.spawn)),
                extra,
            )
        }));
    }
    linearity(&mut b, &spawn_rows, s.spawn);

    let job = Job {
        name: "ring",
        app: "ring",
        size: format!(
            "{} procs, {} hops",
            group(s.ring_nodes as f64),
            group(s.ring_hops as f64)
        ),
        args: vec![s.ring_nodes, s.ring_hops],
        ..Job::default()
    };
    b.row(job, |sm, f| {
        let (floor, label) = switches(f, 1.0);
        simple_row(
            sm,
            floor,
            label,
            format!("token loop only {} ns", ns(loop_only(sm))),
        )
    });

    let mut pingpongs = Vec::new();
    for app in ["pingpong", "pingpong_payload"] {
        let job = Job {
            name: app,
            app,
            size: group(s.pingpong as f64),
            args: vec![s.pingpong],
            ..Job::default()
        };
        pingpongs.push(b.row(job, |sm, f| {
            let (floor, label) = switches(f, 2.0);
            simple_row(
                sm,
                floor,
                label,
                format!("loop only {} ns", ns(loop_only(sm))),
            )
        }));
    }
    if let [pp, ppp] = pingpongs[..]
        && let (Some(a), Some(i), Some(c)) = (b.ns_of(pp), ppp, b.ns_of(ppp))
    {
        let r = &mut b.rows[i];
        r.extra = format!("{:.2}x pingpong; {}", c / a, r.extra);
    }

    let job = Job {
        name: "fan_in",
        app: "fan_in",
        size: format!(
            "{} x {}",
            group(s.fan_producers as f64),
            group(s.fan_each as f64)
        ),
        args: vec![s.fan_producers, s.fan_each],
        ..Job::default()
    };
    b.row(job, |sm, f| {
        let (floor, label) = switches(f, 1.0);
        simple_row(sm, floor, label, String::new())
    });

    for (name, mode, what) in [
        ("select", "reuse", "case list built once"),
        ("select_fresh", "fresh", "cases rebuilt per select"),
    ] {
        let job = Job {
            name,
            app: "select",
            size: format!("{} selects, 9 cases", group(s.selects as f64)),
            args: vec![s.selects],
            extra_args: vec![mode],
            ..Job::default()
        };
        b.row(job, |sm, f| {
            let (floor, label) = switches(f, 1.0);
            simple_row(
                sm,
                floor,
                label,
                format!("{what}; loop only {} ns", ns(loop_only(sm))),
            )
        });
    }

    let job = Job {
        name: "timers",
        app: "timers",
        size: format!(
            "{} sleeps 0..{:.0} ms",
            group(s.timers as f64),
            s.timer_max_ns as f64 / 1e6
        ),
        args: vec![s.timers, s.timer_max_ns],
        ..Job::default()
    };
    b.row(job, |sm, f| {
        let arm = med(sm, |x| x.fig("arm_ns") / x.fig("ops"));
        let stop = med(sm, |x| x.fig("stop_ns") / x.fig("ops"));
        let max = |k: &str| sm.iter().map(|x| x.fig(k)).fold(f64::NAN, f64::max);
        let worst = max("worst_late_ns");
        let worst_after = max("worst_late_after_spawn_ns");
        let mean = med(sm, |x| x.fig("mean_late_ns"));
        let early: f64 = sm.iter().map(|x| x.fig("early")).sum();
        let spawn = med(sm, |x| x.fig("spawn_phase_ns"));
        let phase = med(sm, |x| x.fig("sleep_phase_ns"));
        Row {
            name: String::new(),
            size: String::new(),
            ns_op: arm,
            floor: Some((f.heap_push, format!("{} ns (heap push)", ns(f.heap_push)))),
            ratio: Some(arm / f.heap_push),
            extra: format!(
                "ns/op = `time.timer` arm; stop {} ns; lateness worst {:.2} ms, worst once the \
                 spawn loop ended {:.2} ms (max of runs), mean {:.2} ms; early wakeups {early}; \
                 spawn loop {:.2} s, sleep phase {:.2} s",
                ns(stop),
                worst / 1e6,
                worst_after / 1e6,
                mean / 1e6,
                spawn / 1e9,
                phase / 1e9,
            ),
            failed: (early > 0.0).then(|| format!("{early} sleeps woke early")),
        }
    });

    let mut idle_rows = Vec::new();
    for n in s.idle {
        let job = Job {
            name: "idle_memory",
            app: "idle_memory",
            size: group(n as f64),
            args: vec![n],
            child: true,
            ..Job::default()
        };
        idle_rows.push(b.row(job, |sm, f| {
            let heap = med(sm, |x| {
                (x.fig("heap_after") - x.fig("heap_before")) / x.fig("ops")
            });
            let rss = med(sm, |x| {
                let (a, b) = x.rss.unwrap_or((0, 0));
                (b as f64 - a as f64) / x.fig("ops")
            });
            Row {
                name: String::new(),
                size: String::new(),
                ns_op: med(sm, per_op),
                floor: Some((
                    f.coroutine_bytes,
                    format!("{} B/coroutine", group(f.coroutine_bytes)),
                )),
                ratio: Some(heap / f.coroutine_bytes),
                extra: join(&[
                    &format!(
                        "Lua heap {} B/proc; RSS {} B/proc; ns/op = spawn until blocked",
                        group(heap),
                        group(rss)
                    ),
                    &spread(sm, per_op),
                ]),
                failed: None,
            }
        }));
    }
    linearity(&mut b, &idle_rows, s.idle);
    supervision_rows(&mut b, s);
    tight_loop_row(&mut b, s);
    b
}

/// A tight Lua loop under the runtime beside the same loop in plain mlua (issue 9: at most
/// 1.05x, no count hook on unpreempted code). Wall clock: under callgrind the watchdog sees
/// every slice overrun and arms the hook, so instruction counts cannot show it.
fn tight_loop_row(b: &mut Bench<'_>, s: &Sizes) {
    let job = Job {
        name: "tight_loop",
        app: "tight_loop",
        size: group(s.tight_loop as f64),
        args: vec![s.tight_loop],
        ..Job::default()
    };
    b.row(job, |sm, f| {
        let looped = loop_only(sm);
        Row {
            name: String::new(),
            size: String::new(),
            ns_op: looped,
            floor: Some((
                f.tight_loop,
                format!("{} ns/iteration in plain mlua", ns(f.tight_loop)),
            )),
            ratio: Some(looped / f.tight_loop),
            extra: join(&[
                "ns/op = one loop iteration (the app's own time.now())",
                &spread(sm, |x| x.fig("loop_ns") / x.fig("ops")),
            ]),
            failed: None,
        }
    });
}

/// Restart latency of a supervised child, and `process.info` with many live processes.
fn supervision_rows(b: &mut Bench<'_>, s: &Sizes) {
    let job = Job {
        name: "supervision",
        app: "supervision",
        size: format!("{} restarts", group(s.restarts as f64)),
        args: vec![s.restarts],
        ..Job::default()
    };
    b.row(job, |sm, f| {
        let restart = med(sm, |x| x.fig("restart_ns") / x.fig("ops"));
        Row {
            name: String::new(),
            size: String::new(),
            ns_op: restart,
            floor: Some((f.spawn, format!("{} ns create+finish", ns(f.spawn)))),
            ratio: Some(restart / f.spawn),
            extra: "ns/op = crash message sent -> new incarnation running (it reports in)".into(),
            failed: None,
        }
    });
    let job = Job {
        name: "process.info",
        app: "introspect",
        size: format!("{} live processes", group(s.info_procs as f64)),
        args: vec![s.info_procs],
        ..Job::default()
    };
    b.row(job, |sm, _| {
        let info = med(sm, |x| x.fig("info_ns") / x.fig("ops"));
        let list = med(sm, |x| x.fig("list_ns"));
        Row {
            name: String::new(),
            size: String::new(),
            ns_op: info,
            floor: None,
            ratio: None,
            extra: format!(
                "ns/op = one `process.info` (fresh table); `process.list` of all: {:.2} ms",
                list / 1e6
            ),
            failed: None,
        }
    });
}

/// Notes on the larger row how its per-op time compares with the smaller size's.
fn linearity(b: &mut Bench<'_>, rows: &[Option<usize>], sizes: [u64; 2]) {
    if let [Some(small), Some(big)] = rows[..]
        && let (Some(a), Some(c)) = (b.ns_of(Some(small)), b.ns_of(Some(big)))
    {
        let r = &mut b.rows[big];
        r.extra = format!(
            "{:.2}x time per op of {} (x{} size); {}",
            c / a,
            group(sizes[0] as f64),
            sizes[1] / sizes[0].max(1),
            r.extra
        );
    }
}

fn render(b: &Bench<'_>, elapsed: Duration) -> String {
    let f = &b.floors;
    let mut out = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        out,
        "moonbench ({} mode, median of {} run{}{}; {cores} cores; load average {}; {:.0} s in \
         all)\n",
        if b.opts.quick { "quick" } else { "full" },
        b.opts.runs,
        if b.opts.runs == 1 { "" } else { "s" },
        b.opts
            .slice
            .map_or(String::new(), |n| format!("; instruction slice {n}")),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        elapsed.as_secs_f64(),
    );
    let _ = writeln!(
        out,
        "| workload | size | median ns/op | ops/s | floor | ratio to floor | extra |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---|---:|---|");
    for r in &b.rows {
        if let Some(why) = &r.failed
            && r.ns_op.is_nan()
        {
            let _ = writeln!(
                out,
                "| `{}` | {} | FAILED | | | | {} |",
                r.name, r.size, why
            );
            continue;
        }
        let floor = r.floor.as_ref().map_or("-".to_string(), |(_, l)| l.clone());
        let ratio = r.ratio.map_or("-".to_string(), |x| format!("{x:.2}x"));
        let fail = r
            .failed
            .as_ref()
            .map_or(String::new(), |w| format!("FAILED: {w}; "));
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {}{} |",
            r.name,
            r.size,
            ns(r.ns_op),
            group(1e9 / r.ns_op),
            floor,
            ratio,
            fail,
            r.extra
        );
    }
    let _ = writeln!(
        out,
        "\nFloors (raw mlua, same Lua build, no hook): coroutine create+resume to completion {} ns \
         ({} ns with {} alive at once); resume/yield round trip {} ns; suspended coroutine {} B of \
         Lua heap; binary-heap push {} ns.",
        ns(f.spawn),
        ns(f.spawn_alive),
        group(b.sizes.spawn[1] as f64),
        ns(f.switch),
        group(f.coroutine_bytes),
        ns(f.heap_push),
    );
    let _ = writeln!(
        out,
        "ns/op is spawn_root + run timed from Rust divided by the operations; `loop only` is the \
         app's own time.now() around its main loop. idle_memory's ratio is Lua heap per process \
         over the coroutine floor; its RSS is measured in a child process (an upper bound: \
         freed memory stays resident)."
    );
    out
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = argv.iter().position(|a| a == "--child") {
        child_main(&argv[i + 1..]);
    }
    let opts = parse_args();
    let t = Instant::now();
    let b = run_all(&opts);
    let table = render(&b, t.elapsed());
    println!("{table}");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moonbench.md");
    match std::fs::write(&path, &table) {
        Ok(()) => eprintln!("moonbench: wrote {}", path.display()),
        Err(e) => eprintln!("moonbench: could not write {}: {e}", path.display()),
    }
    if b.rows.iter().any(|r| r.failed.is_some()) {
        std::process::exit(1);
    }
}
