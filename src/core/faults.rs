//! Fault injection and the `sim` module's effects on the core (SPEC §14.4, §14.5): `kill`
//! faults before a step, `drop`/`dup` of accepted sends, `buggify` sites, protected
//! processes, `sometimes`/`always` assertions. Every injected fault is a `fault` record,
//! and a replay takes faults from those records instead of the seed.

use super::{Core, RootExit};
use crate::ids::ProcId;
use crate::message::Exit;
use crate::rng::Rng;
use crate::sim::{self, Arg, FaultKind, Faults};
use serde_json::Value;
use slotmap::SecondaryMap;
use std::collections::BTreeMap;

/// What `kill` faults end a process with.
pub const KILLED: &str = "sim: process killed";

/// The fault state of one run.
#[derive(Debug, Default)]
pub struct FaultState {
    faults: Faults,
    /// Whether the run is in simulation mode at all (the `sim` module is live).
    live: bool,
    /// Whether faults come from the replayed trace.
    follow: bool,
    seed: u64,
    streams: BTreeMap<&'static str, Rng>,
    protected: SecondaryMap<ProcId, ()>,
    /// `buggify` sites reached so far (each gets one `buggify` information record).
    sites: std::collections::BTreeSet<String>,
    /// `sometimes` names evaluated, and whether any evaluation was truthy.
    sometimes: BTreeMap<String, bool>,
    /// The full report of a failed `sim.always` (`name (pid, chunk:line)`).
    always_failed: Option<String>,
}

impl FaultState {
    /// The faults of a run seeded with `seed`; `live` in simulation mode, `follow` when a
    /// replay supplies them.
    pub fn new(faults: Faults, seed: u64, live: bool, follow: bool) -> FaultState {
        let streams = faults
            .0
            .iter()
            .map(|f| (f.kind.stream(), sim::stream(seed, f.kind.stream())))
            .collect();
        FaultState {
            faults,
            live,
            follow,
            seed,
            streams,
            ..FaultState::default()
        }
    }

    /// Draws the chance of fault `kind`; false when it is not enabled.
    fn roll(&mut self, kind: FaultKind) -> bool {
        let Some(f) = self.faults.get(kind).copied() else {
            return false;
        };
        let rng = self
            .streams
            .get_mut(kind.stream())
            .expect("stream per fault");
        sim::chance(rng, f.prob)
    }
}

impl Core {
    /// Whether the `sim` module is live (simulation mode).
    pub fn sim_live(&self) -> bool {
        self.faults.live
    }

    /// Whether faults come from a replayed trace.
    pub(super) fn faults_follow(&self) -> bool {
        self.faults.follow
    }

    /// The random stream of fault `kind`, when it is enabled.
    pub(super) fn fault_stream(&mut self, kind: FaultKind) -> Option<&mut Rng> {
        self.faults.streams.get_mut(kind.stream())
    }

    /// The canonical fault list of the run.
    pub fn faults(&self) -> &Faults {
        &self.faults.faults
    }

    /// Before a step: maybe a `kill` fault on one killable process.
    pub(super) fn fault_before_step(&mut self) {
        let victim = if self.faults.follow {
            self.tracer
                .next_fault("kill")
                .filter(|r| r.get("scripted").is_none())
                .and_then(|r| r.get("pid").and_then(Value::as_str).map(str::to_string))
                .and_then(|pid| self.resolve(pid.as_bytes()).ok())
        } else if self.faults.faults.get(FaultKind::Kill).is_some() {
            let killable: Vec<ProcId> = self
                .procs
                .keys()
                .filter(|p| Some(*p) != self.root && !self.faults.protected.contains_key(*p))
                .filter(|p| self.procs[*p].kill.is_none())
                .collect();
            if killable.is_empty() || !self.faults.roll(FaultKind::Kill) {
                return;
            }
            let rng = self
                .faults
                .streams
                .get_mut("fault.kill")
                .expect("kill stream");
            Some(killable[(rng.next_u64() % killable.len() as u64) as usize])
        } else {
            None
        };
        if let Some(p) = victim {
            self.trace_with("fault", |c| {
                vec![("kind", "kill".into()), ("pid", c.pid_string_of(p).into())]
            });
            self.kill(p, KILLED);
        }
    }

    /// Whether an accepted send from the running process to `to` on `topic` is dropped or
    /// duplicated (recorded as a `fault`).
    pub(super) fn send_fault(&mut self, to: ProcId, topic: &str) -> Option<FaultKind> {
        if !self.faults.follow && self.faults.faults.is_empty() {
            // No fault configured: nothing to roll (no random draw is skipped).
            return None;
        }
        let kind = if self.faults.follow {
            [FaultKind::Drop, FaultKind::Dup]
                .into_iter()
                .find(|k| self.tracer.next_fault(k.name()).is_some())
        } else if self.faults.roll(FaultKind::Drop) {
            Some(FaultKind::Drop)
        } else if self.faults.roll(FaultKind::Dup) {
            Some(FaultKind::Dup)
        } else {
            None
        }?;
        self.trace_with("fault", |c| {
            let from = c
                .current_proc()
                .map(|p| c.pid_string_of(p))
                .unwrap_or_default();
            vec![
                ("kind", kind.name().into()),
                ("from", from.into()),
                ("to", c.pid_string_of(to).into()),
                ("topic", topic.into()),
            ]
        });
        Some(kind)
    }

    /// `sim.buggify(site, p)`: whether the site fires at this call.
    pub fn buggify(&mut self, site: &str, p: Option<f64>) -> bool {
        let fire = if self.faults.follow {
            self.tracer.next_fault_site(site)
        } else {
            let Some(f) = self.faults.faults.get(FaultKind::Buggify).copied() else {
                return false;
            };
            // Enabling depends on (seed, site) only, not on the order sites are reached.
            let mut site_rng = Rng(self.faults.seed ^ sim::fnv1a(site.as_bytes()));
            let enabled = sim::chance(&mut site_rng, f.prob);
            if self.faults.sites.insert(site.to_string()) {
                self.trace_with("buggify", |_| {
                    vec![("site", site.into()), ("enabled", enabled.into())]
                });
            }
            if !enabled {
                return false;
            }
            let per_call = match (p, f.arg) {
                (Some(p), _) => p,
                (None, Some(Arg::Prob(a))) => a,
                _ => 0.25,
            };
            let rng = self
                .faults
                .streams
                .get_mut("buggify")
                .expect("buggify stream");
            sim::chance(rng, per_call)
        };
        if fire {
            self.trace_with("fault", |c| {
                let pid = c
                    .current_proc()
                    .map(|p| c.pid_string_of(p))
                    .unwrap_or_default();
                vec![
                    ("kind", "buggify".into()),
                    ("site", site.into()),
                    ("pid", pid.into()),
                ]
            });
        }
        fire
    }

    /// `sim.kill(dest, reason)`: a scripted kill, recorded as a `fault`.
    pub fn sim_kill(&mut self, p: ProcId, reason: &str) {
        self.trace_with("fault", |c| {
            vec![
                ("kind", "kill".into()),
                ("pid", c.pid_string_of(p).into()),
                ("scripted", true.into()),
            ]
        });
        self.kill(p, reason);
    }

    /// `sim.protect(dest)`: `p` is never chosen by `kill` faults.
    pub fn protect(&mut self, p: ProcId) {
        self.faults.protected.insert(p, ());
    }

    /// `sim.sometimes(cond, name)`: notes the evaluation.
    pub fn sometimes(&mut self, name: &str, hit: bool) {
        let e = self
            .faults
            .sometimes
            .entry(name.to_string())
            .or_insert(false);
        *e |= hit;
        self.trace_with("assert", |_| {
            vec![
                ("kind", "sometimes".into()),
                ("name", name.into()),
                ("ok", hit.into()),
            ]
        });
    }

    /// The `sometimes` names of this run and whether each was hit.
    pub fn sometimes_seen(&self) -> &BTreeMap<String, bool> {
        &self.faults.sometimes
    }

    /// `sim.always` failed in `pid` at `location`: the run ends now, the root with the
    /// failure as its error.
    pub fn always_failed(&mut self, name: &str, pid: &str, location: &str) {
        self.trace_with("assert", |_| {
            vec![
                ("kind", "always".into()),
                ("name", name.into()),
                ("ok", Value::Bool(false)),
            ]
        });
        let msg = format!("sim.always failed: {name}");
        self.faults.always_failed = Some(format!("{msg} ({pid}, {location})"));
        if self.root_exit.is_none() {
            self.root_exit = Some(RootExit {
                exit: Exit::Error(msg),
                traceback: None,
            });
        }
    }

    /// The report of a failed `sim.always` (`sim.always failed: <name> (<pid>, <loc>)`).
    pub fn always_failure(&self) -> Option<&str> {
        self.faults.always_failed.as_deref()
    }
}
