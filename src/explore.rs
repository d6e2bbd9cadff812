//! Schedule exploration and shrinking for `moonhost test` (SPEC §14.2, §14.6, §14.7): one
//! test under seeds `S..S+K-1`, a block per failing seed with the exact command that
//! replays it, ddmin over the decisions of the first failing seed of each distinct
//! failure, and the `explored …` summary over the whole command.
//!
//! Every run is a fresh runtime in this process (no new OS process per seed).

use crate::manifest::{App, Entry};
use crate::sim::Strategy;
use crate::testcase::{DEFAULT_TIMEOUT, TestOptions, Verdict, run_one};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most candidate runs one shrink makes.
const SHRINK_MAX_RUNS: usize = 500;

/// What `--explore` saw over every test of one command.
#[derive(Debug, Default)]
pub struct Summary {
    /// Schedules run.
    pub runs: u64,
    /// Schedules that failed.
    pub failed: u64,
    /// Distinct (test id, signature) failures.
    pub distinct: BTreeSet<(String, String)>,
    /// `sometimes` names evaluated, and whether any evaluation was truthy.
    pub sometimes: BTreeMap<String, bool>,
}

impl Summary {
    /// Adds one run's `sometimes` evaluations.
    pub fn merge(&mut self, seen: &[(String, bool)]) {
        for (name, hit) in seen {
            *self.sometimes.entry(name.clone()).or_insert(false) |= *hit;
        }
    }

    /// The `explored …` line (SPEC §14.7).
    pub fn line(&self) -> String {
        let never: Vec<&str> = self
            .sometimes
            .iter()
            .filter(|(_, hit)| !**hit)
            .map(|(n, _)| n.as_str())
            .collect();
        format!(
            "explored {} schedules: {} failed, {} distinct failures; sometimes never hit: {}",
            self.runs,
            self.failed,
            self.distinct.len(),
            if never.is_empty() {
                "none".to_string()
            } else {
                never.join(", ")
            }
        )
    }
}

/// A failure's signature: its first line with PIDs as `{host|_}` and digit runs as `N`.
pub fn signature(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("");
    let mut out = String::with_capacity(first.len());
    let mut chars = first.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '|' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push_str("|_");
        } else if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

/// The command that re-runs one schedule of `id`.
pub fn replay_command(opts: &TestOptions, id: &str, seed: u64, strategy: Strategy) -> String {
    let mut cmd = format!("moonhost test {} {id} --seed {seed}", opts.app_dir);
    if strategy != Strategy::Fifo {
        cmd.push_str(&format!(" --strategy {strategy}"));
    }
    if !opts.faults.is_empty() {
        cmd.push_str(&format!(" --faults {}", opts.faults));
    }
    if opts.timeout != DEFAULT_TIMEOUT {
        cmd.push_str(&format!(" --timeout {}", opts.timeout.as_secs_f64()));
    }
    cmd
}

/// `<id>` with every character outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn file_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The strategy with PCT's horizon measured when it has none: the step count of one FIFO
/// run of the test with `seed` (SPEC §14.2).
pub fn resolve(app: &App, entry: &Entry, opts: &TestOptions, seed: u64) -> Strategy {
    if !opts.strategy.needs_horizon() {
        return opts.strategy;
    }
    let o = single(opts, seed, Strategy::Fifo);
    let v = run_one(app, entry, &o, Box::new(std::io::sink()));
    opts.strategy.with_horizon(v.sim.steps)
}

/// Options for one seeded run, untraced.
fn single(opts: &TestOptions, seed: u64, strategy: Strategy) -> TestOptions {
    TestOptions {
        seed: Some(seed),
        strategy,
        explore: None,
        trace: None,
        replay: None,
        ..opts.clone()
    }
}

/// Runs `entry` under `k` seeds; the verdict fails if any seed fails, and its message lists
/// each failing seed with its replay command (and trace, with `--out`). Shrink blocks go
/// to `verdict.sim.after`.
pub fn explore(app: &App, entry: &Entry, opts: &TestOptions, k: u64, sum: &mut Summary) -> Verdict {
    let s0 = opts.seed.unwrap_or(1);
    let strategy = resolve(app, entry, opts, s0);
    let mut blocks = Vec::new();
    let mut after = String::new();
    let mut seen = BTreeSet::new();
    let mut elapsed = Duration::ZERO;
    let mut progress = crate::progress::Progress::new(k);
    for seed in s0..s0.saturating_add(k) {
        let o = single(opts, seed, strategy);
        let v = run_one(app, entry, &o, Box::new(std::io::sink()));
        elapsed += v.elapsed;
        sum.runs += 1;
        sum.merge(&v.sim.sometimes);
        progress.tick(!v.passed);
        if v.passed {
            continue;
        }
        sum.failed += 1;
        let msg = v.message.as_deref().unwrap_or("failed");
        let first = msg.lines().next().unwrap_or("");
        let mut block = format!(
            "seed {seed}: {first}\n    replay: {}",
            replay_command(opts, &entry.id, seed, strategy)
        );
        if let Some(dir) = &opts.out {
            let path = dir.join(format!("{}.seed{seed}.jsonl", file_id(&entry.id)));
            if traced(app, entry, &o, &path).is_some() {
                block.push_str(&format!("\n    trace: {}", path.display()));
            }
        }
        blocks.push(block);
        let sig = signature(msg);
        sum.distinct.insert((entry.id.clone(), sig.clone()));
        if opts.shrink && seen.insert(sig) {
            after.push_str(&shrink_seed(app, entry, &o, seed));
        }
    }
    progress.finish();
    let mut v = Verdict {
        id: entry.id.clone(),
        passed: blocks.is_empty(),
        message: (!blocks.is_empty()).then(|| {
            format!(
                "failed under {} of {k} explored schedules\n  {}",
                blocks.len(),
                blocks.join("\n  ")
            )
        }),
        traceback: None,
        elapsed,
        sim: Default::default(),
    };
    v.sim.after = after;
    v
}

/// Re-runs with a trace to `path`; the verdict, or `None` when the folder cannot be made.
fn traced(app: &App, entry: &Entry, o: &TestOptions, path: &Path) -> Option<Verdict> {
    std::fs::create_dir_all(path.parent()?).ok()?;
    let o = TestOptions {
        trace: Some(path.to_path_buf()),
        ..o.clone()
    };
    Some(run_one(app, entry, &o, Box::new(std::io::sink())))
}

/// The decision records (`pick`, unscripted `fault`) of the trace at `path`.
pub fn decisions(path: &Path) -> Vec<Map<String, Value>> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| match serde_json::from_str::<Value>(&l) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .filter(|m| {
            let ev = m.get("ev").and_then(Value::as_str);
            (ev == Some("pick") || ev == Some("fault")) && m.get("scripted").is_none()
        })
        .collect()
}

/// Shrinks the failing run `o` (seed `seed`): its block of output.
pub fn shrink_seed(app: &App, entry: &Entry, o: &TestOptions, seed: u64) -> String {
    let dir = o
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("moonhost-sim"));
    let full = dir.join(format!("{}.seed{seed}.jsonl", file_id(&entry.id)));
    let min = dir.join(format!("{}.seed{seed}.min.jsonl", file_id(&entry.id)));
    shrink(app, entry, o, &full, &min, &format!("seed {seed}"))
}

/// Shrinks the run of `o` traced to `full` (re-run unless `o` replays it) into `min`.
pub fn shrink(
    app: &App,
    entry: &Entry,
    o: &TestOptions,
    full: &Path,
    min: &Path,
    what: &str,
) -> String {
    let first = match &o.replay {
        Some(_) => Some(run_one(app, entry, o, Box::new(std::io::sink()))),
        None => traced(app, entry, o, full),
    };
    let Some(first) = first.filter(|v| !v.passed) else {
        return format!(
            "shrink {} {what}: nothing to shrink (the run passed)\n",
            entry.id
        );
    };
    let want = signature(first.message.as_deref().unwrap_or(""));
    let all = decisions(o.replay.as_deref().unwrap_or(full));
    let mut base = TestOptions {
        replay: None,
        trace: None,
        ..o.clone()
    };
    if let Some(r) = &o.replay {
        from_header(&mut base, r);
    }
    let mut runs = 0;
    let mut fails = |cand: &[Map<String, Value>], trace: Option<&Path>| {
        runs += 1;
        let v = guided(app, entry, &base, cand, trace);
        !v.passed && signature(v.message.as_deref().unwrap_or("")) == want
    };
    let mut kept = ddmin(all.clone(), &mut fails);
    lower_picks(&mut kept, &mut fails);
    let _ = std::fs::create_dir_all(min.parent().unwrap_or(Path::new(".")));
    fails(&kept, Some(min));
    format!(
        "shrink {} {what}: {} -> {} decisions in {runs} runs\n  trace: {}\n  replay: moonhost test {} {} --replay {}\n",
        entry.id,
        all.len(),
        kept.len(),
        min.display(),
        o.app_dir,
        entry.id,
        min.display()
    )
}

/// Takes seed, strategy and faults from the `start` record of the trace at `path`.
fn from_header(o: &mut TestOptions, path: &Path) {
    let Ok(f) = std::fs::File::open(path) else {
        return;
    };
    let Some(Ok(line)) = std::io::BufReader::new(f).lines().next() else {
        return;
    };
    let Ok(Value::Object(h)) = serde_json::from_str::<Value>(&line) else {
        return;
    };
    let text = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    o.seed = h.get("seed").and_then(Value::as_u64);
    o.strategy = Strategy::parse(&text("strategy")).unwrap_or_default();
    o.faults = crate::sim::Faults::parse(&text("faults"), |d| crate::lua::duration::parse(d).ok())
        .unwrap_or_default();
}

/// One candidate: the run with exactly `cand` applied, traced to `trace` when given.
fn guided(
    app: &App,
    entry: &Entry,
    o: &TestOptions,
    cand: &[Map<String, Value>],
    trace: Option<&Path>,
) -> Verdict {
    let o = TestOptions {
        trace: trace.map(Path::to_path_buf),
        ..o.clone()
    };
    crate::testcase::run_guided(app, entry, &o, cand.to_vec())
}

type Test<'a> = dyn FnMut(&[Map<String, Value>], Option<&Path>) -> bool + 'a;

/// ddmin (Zeller–Hildebrandt): a 1-minimal sublist that still `fails`, within the run cap.
fn ddmin(mut items: Vec<Map<String, Value>>, fails: &mut Test<'_>) -> Vec<Map<String, Value>> {
    let runs = std::cell::Cell::new(0);
    let mut test = |c: &[Map<String, Value>]| {
        runs.set(runs.get() + 1);
        runs.get() <= SHRINK_MAX_RUNS && fails(c, None)
    };
    if !items.is_empty() && test(&[]) {
        return Vec::new();
    }
    let mut n = 2;
    while items.len() >= 2 && runs.get() < SHRINK_MAX_RUNS {
        let chunk = items.len().div_ceil(n);
        let parts: Vec<Vec<_>> = items.chunks(chunk).map(<[_]>::to_vec).collect();
        let mut reduced = false;
        for i in 0..parts.len() {
            let complement: Vec<_> = parts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, p)| p.iter().cloned())
                .collect();
            if test(&parts[i]) {
                items = parts[i].clone();
                n = 2;
                reduced = true;
                break;
            }
            if parts.len() > 2 && test(&complement) {
                items = complement;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (n * 2).min(items.len());
        }
    }
    if items.len() == 1 && test(&[]) {
        items.clear();
    }
    items
}

/// Tries each remaining pick with a smaller `pos`, keeping the smallest that still fails.
fn lower_picks(items: &mut [Map<String, Value>], fails: &mut Test<'_>) {
    for i in 0..items.len() {
        let Some(pos) = items[i].get("pos").and_then(Value::as_u64) else {
            continue;
        };
        for smaller in 1..pos {
            let mut cand = items.to_vec();
            cand[i].insert("pos".into(), smaller.into());
            if fails(&cand, None) {
                items[i].insert("pos".into(), smaller.into());
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_hide_pids_and_numbers() {
        assert_eq!(
            signature("balance went negative: -12 at {app|34}\nstack"),
            "balance went negative: -N at {app|_}"
        );
    }

    #[test]
    fn ddmin_finds_the_one_decision_that_matters() {
        let items: Vec<Map<String, Value>> = (0..9)
            .map(|i| {
                let mut m = Map::new();
                m.insert("step".into(), i.into());
                m
            })
            .collect();
        let culprit = |c: &[Map<String, Value>], _: Option<&Path>| {
            c.iter().any(|m| m.get("step") == Some(&Value::from(6)))
        };
        let mut f = culprit;
        let kept = ddmin(items, &mut f);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].get("step"), Some(&Value::from(6)));
    }

    #[test]
    fn the_summary_line_lists_never_hit_names_sorted() {
        let mut s = Summary {
            runs: 4,
            failed: 1,
            ..Summary::default()
        };
        s.distinct.insert(("a".into(), "x".into()));
        s.merge(&[
            ("zeta".into(), false),
            ("alpha".into(), false),
            ("hit".into(), true),
        ]);
        assert_eq!(
            s.line(),
            "explored 4 schedules: 1 failed, 1 distinct failures; sometimes never hit: alpha, zeta"
        );
    }
}
