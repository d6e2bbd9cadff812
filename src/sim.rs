//! What a simulation run is asked to do (SPEC §14): the scheduling strategy and the faults
//! to inject, parsed from their command-line forms with §14's exact errors and printed back
//! in canonical form (for replay commands and the trace's `start` record), and the named
//! random streams every simulated choice draws from.
//!
//! Plain data: the core's `schedule` and `faults` act on it.

use crate::payload::Payload;
use crate::rng::Rng;
use std::fmt;

/// A scheduling strategy (SPEC §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Head of the run queue; timer ties in arming order.
    #[default]
    Fifo,
    /// Uniformly among the first few ready tasks; timer ties in a seeded order.
    Random,
    /// Probabilistic concurrency testing with depth `depth` and horizon `horizon` (measured
    /// by a FIFO run when `None`).
    Pct {
        /// Bug depth the run is tuned for (`D`).
        depth: u32,
        /// Expected number of steps (`H`).
        horizon: Option<u64>,
    },
    /// Partial-order sampling.
    Pos,
}

/// Ready tasks at the head of the run queue the `random` strategy picks among.
pub const RANDOM_WINDOW: usize = 4;

impl Strategy {
    /// Parses `fifo`, `random`, `pct[:D[:H]]` or `pos`.
    ///
    /// # Errors
    /// SPEC §14.2's message (without the `moonhost: ` prefix).
    pub fn parse(s: &str) -> Result<Strategy, String> {
        let mut parts = s.split(':');
        let name = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let unknown = || {
            format!("--strategy: unknown strategy '{s}' (known: fifo, random, pct[:D[:H]], pos)")
        };
        match (name, rest.len()) {
            ("fifo", 0) => Ok(Strategy::Fifo),
            ("random", 0) => Ok(Strategy::Random),
            ("pos", 0) => Ok(Strategy::Pos),
            ("pct", n) if n <= 2 => {
                let num = |v: Option<&&str>, what: &str| -> Result<Option<u64>, String> {
                    match v {
                        None => Ok(None),
                        Some(v) => match v.parse::<u64>() {
                            Ok(n) if n >= 1 => Ok(Some(n)),
                            _ => Err(format!("--strategy: pct {what} must be an integer >= 1")),
                        },
                    }
                };
                let depth = num(rest.first(), "depth")?.unwrap_or(3);
                let depth = u32::try_from(depth)
                    .map_err(|_| "--strategy: pct depth must be an integer >= 1".to_string())?;
                let horizon = num(rest.get(1), "horizon")?;
                Ok(Strategy::Pct { depth, horizon })
            }
            _ => Err(unknown()),
        }
    }

    /// Whether this is PCT without a horizon (to be measured by a FIFO run).
    pub fn needs_horizon(&self) -> bool {
        matches!(self, Strategy::Pct { horizon: None, .. })
    }

    /// The same strategy with horizon `h` when it is PCT without one.
    pub fn with_horizon(self, h: u64) -> Strategy {
        match self {
            Strategy::Pct {
                depth,
                horizon: None,
            } => Strategy::Pct {
                depth,
                horizon: Some(h.max(1)),
            },
            s => s,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Fifo => f.write_str("fifo"),
            Strategy::Random => f.write_str("random"),
            Strategy::Pos => f.write_str("pos"),
            Strategy::Pct {
                depth,
                horizon: Some(h),
            } => write!(f, "pct:{depth}:{h}"),
            Strategy::Pct {
                depth,
                horizon: None,
            } => write!(f, "pct:{depth}"),
        }
    }
}

/// The kinds of fault, in SPEC §14.4's table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// A process ends abnormally.
    Kill,
    /// A message enters the mailbox late (per-pair order kept).
    Delay,
    /// A message is delivered twice.
    Dup,
    /// A message is discarded.
    Drop,
    /// A timer fires late.
    Jitter,
    /// A process reads a shifted clock.
    Skew,
    /// `sim.buggify` sites may fire.
    Buggify,
}

/// What [`FaultKind`]'s argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    Duration,
    Prob,
}

impl FaultKind {
    /// Every kind, in table order.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Kill,
        FaultKind::Delay,
        FaultKind::Dup,
        FaultKind::Drop,
        FaultKind::Jitter,
        FaultKind::Skew,
        FaultKind::Buggify,
    ];

    /// The kind's name on the command line and in `fault` records.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Delay => "delay",
            FaultKind::Dup => "dup",
            FaultKind::Drop => "drop",
            FaultKind::Jitter => "jitter",
            FaultKind::Skew => "skew",
            FaultKind::Buggify => "buggify",
        }
    }

    /// What the kind breaks (SPEC §14.4's last column), for help and docs.
    pub fn breaks(self) -> &'static str {
        match self {
            FaultKind::Kill => "nothing promised: it is a crash",
            FaultKind::Delay => "no guarantee: only order across senders and timing change",
            FaultKind::Dup => "exactly-once delivery",
            FaultKind::Drop => "delivery (every message waits in its mailbox)",
            FaultKind::Jitter => "deadline-then-arming order of timers",
            FaultKind::Skew => "agreement of time.now() between processes",
            FaultKind::Buggify => "nothing by itself",
        }
    }

    fn defaults(self) -> (f64, Option<Arg>) {
        match self {
            FaultKind::Kill | FaultKind::Dup | FaultKind::Drop => (0.001, None),
            FaultKind::Delay => (0.01, Some(Arg::Ns(10_000_000))),
            FaultKind::Jitter => (0.1, Some(Arg::Ns(1_000_000))),
            FaultKind::Skew => (1.0, Some(Arg::Ns(10_000_000))),
            FaultKind::Buggify => (0.25, Some(Arg::Prob(0.25))),
        }
    }

    fn arg_kind(self) -> ArgKind {
        match self {
            FaultKind::Kill | FaultKind::Dup | FaultKind::Drop => ArgKind::None,
            FaultKind::Buggify => ArgKind::Prob,
            _ => ArgKind::Duration,
        }
    }

    /// The name of the kind's random stream.
    pub fn stream(self) -> &'static str {
        match self {
            FaultKind::Kill => "fault.kill",
            FaultKind::Delay => "fault.delay",
            FaultKind::Dup => "fault.dup",
            FaultKind::Drop => "fault.drop",
            FaultKind::Jitter => "fault.jitter",
            FaultKind::Skew => "fault.skew",
            FaultKind::Buggify => "buggify",
        }
    }
}

/// A fault's argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    /// A duration in nanoseconds, with the text it was given as.
    Ns(i64),
    /// A probability.
    Prob(f64),
}

/// One enabled fault kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// Its kind.
    pub kind: FaultKind,
    /// Probability per chance.
    pub prob: f64,
    /// Its argument, for the kinds that take one.
    pub arg: Option<Arg>,
}

/// The faults of a run, in table order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults(pub Vec<Fault>);

impl Faults {
    /// Parses SPEC §14.4's grammar; `duration` parses a §4 duration string to nanoseconds.
    ///
    /// # Errors
    /// SPEC §14.4's messages (without the `moonhost: ` prefix).
    pub fn parse(s: &str, duration: impl Fn(&str) -> Option<i64>) -> Result<Faults, String> {
        if s.trim().is_empty() {
            return Err("--faults: empty fault list".into());
        }
        let mut out: Vec<Fault> = Vec::new();
        for item in s.split(',') {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(|| {
                    format!(
                        "--faults: unknown fault '{name}' (known: kill, delay, dup, drop, \
                         jitter, skew, buggify)"
                    )
                })?;
            if out.iter().any(|f| f.kind == kind) {
                return Err(format!("--faults: {name} given twice"));
            }
            let (mut prob, mut arg) = kind.defaults();
            if let Some(v) = value {
                let (p, a) = match v.split_once(':') {
                    Some((p, a)) => (p, Some(a)),
                    None => (v, None),
                };
                prob = parse_prob(p).ok_or_else(|| {
                    format!("--faults: {name}: probability must be between 0 and 1, got '{p}'")
                })?;
                if let Some(a) = a {
                    arg = Some(match kind.arg_kind() {
                        ArgKind::None => return Err(format!("--faults: {name} takes no argument")),
                        ArgKind::Duration => match duration(a) {
                            Some(ns) if ns > 0 => Arg::Ns(ns),
                            _ => return Err(format!("--faults: {name}: bad duration '{a}'")),
                        },
                        ArgKind::Prob => Arg::Prob(parse_prob(a).ok_or_else(|| {
                            format!(
                                "--faults: {name}: probability must be between 0 and 1, got '{a}'"
                            )
                        })?),
                    });
                }
            }
            out.push(Fault { kind, prob, arg });
        }
        out.sort_by_key(|f| f.kind);
        Ok(Faults(out))
    }

    /// The fault of `kind`, when enabled.
    pub fn get(&self, kind: FaultKind) -> Option<&Fault> {
        self.0.iter().find(|f| f.kind == kind)
    }

    /// Whether no fault is enabled.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", fault.kind.name(), fault.prob)?;
            match fault.arg {
                Some(Arg::Ns(ns)) => write!(f, ":{}", format_ns(ns))?,
                Some(Arg::Prob(p)) => write!(f, ":{p}")?,
                None => {}
            }
        }
        Ok(())
    }
}

fn parse_prob(s: &str) -> Option<f64> {
    let p: f64 = s.parse().ok()?;
    (0.0..=1.0).contains(&p).then_some(p)
}

/// A duration in the largest unit that divides it (`10ms`, `1500us`, `7ns`).
fn format_ns(ns: i64) -> String {
    const UNITS: [(i64, &str); 6] = [
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    for (n, u) in UNITS {
        if ns % n == 0 {
            return format!("{}{u}", ns / n);
        }
    }
    format!("{ns}ns")
}

/// The generator of the stream named `name` for `seed`: streams are independent, so
/// enabling a fault does not change the draws of the strategy or of another fault.
pub fn stream(seed: u64, name: &str) -> Rng {
    Rng(seed ^ fnv1a(name.as_bytes()))
}

/// FNV-1a over `bytes` (stream names, buggify sites, payload hashes).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A uniform draw in `[0, 1)`.
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether a draw with probability `p` succeeds (never draws when `p` is 0 or 1, so a
/// certain or impossible fault does not move its stream).
pub fn chance(rng: &mut Rng, p: f64) -> bool {
    if p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    unit(rng) < p
}

/// A hash of message payloads or an exit value, recorded in the trace so a replay notices a
/// changed value. Table entries are combined without regard to their order (Lua's `next`
/// order is not stable across runs), shared references as a constant.
pub fn payload_hash(all: &[Payload]) -> u64 {
    all.iter().fold(fnv1a(b"payloads"), |h, p| {
        (h ^ value_hash(p)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn value_hash(p: &Payload) -> u64 {
    let mix = |tag: u8, bytes: &[u8]| {
        let mut b = Vec::with_capacity(bytes.len() + 1);
        b.push(tag);
        b.extend_from_slice(bytes);
        fnv1a(&b)
    };
    match p {
        Payload::Nil => mix(0, &[]),
        Payload::Bool(b) => mix(1, &[u8::from(*b)]),
        Payload::Int(i) => mix(2, &i.to_le_bytes()),
        Payload::Num(n) => mix(3, &n.to_bits().to_le_bytes()),
        Payload::Str(s) => mix(4, s),
        Payload::Ref(_) => mix(5, &[]),
        Payload::Table(t) => t.entries.iter().fold(mix(6, &[]), |h, (k, v)| {
            let e = value_hash(k).rotate_left(17) ^ value_hash(v).wrapping_mul(31);
            h.wrapping_add(fnv1a(&e.to_le_bytes()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dur(s: &str) -> Option<i64> {
        match s {
            "10ms" => Some(10_000_000),
            "5ms" => Some(5_000_000),
            "0s" => Some(0),
            _ => None,
        }
    }

    #[test]
    fn strategies_parse_and_print_back() {
        assert_eq!(Strategy::parse("fifo"), Ok(Strategy::Fifo));
        assert_eq!(Strategy::parse("pos"), Ok(Strategy::Pos));
        let pct = Strategy::parse("pct").expect("pct");
        assert_eq!(pct.to_string(), "pct:3");
        assert!(pct.needs_horizon());
        assert_eq!(pct.with_horizon(14).to_string(), "pct:3:14");
        assert_eq!(
            Strategy::parse("pct:2:14").expect("pct").to_string(),
            "pct:2:14"
        );
        assert_eq!(
            Strategy::parse("lifo"),
            Err(
                "--strategy: unknown strategy 'lifo' (known: fifo, random, pct[:D[:H]], pos)"
                    .into()
            )
        );
        assert_eq!(
            Strategy::parse("pct:0"),
            Err("--strategy: pct depth must be an integer >= 1".into())
        );
        assert_eq!(
            Strategy::parse("pct:2:x"),
            Err("--strategy: pct horizon must be an integer >= 1".into())
        );
        assert!(Strategy::parse("pct:1:2:3").is_err());
    }

    #[test]
    fn faults_parse_to_the_canonical_form_in_table_order() {
        let f = Faults::parse("buggify,kill=0.02,delay", dur).expect("parses");
        assert_eq!(f.to_string(), "kill=0.02,delay=0.01:10ms,buggify=0.25:0.25");
        let f = Faults::parse("delay=1e-3:5ms", dur).expect("parses");
        assert_eq!(f.to_string(), "delay=0.001:5ms");
    }

    #[test]
    fn fault_errors_are_the_specs() {
        let e = |s: &str| Faults::parse(s, dur).expect_err(s);
        assert_eq!(
            e("boom"),
            "--faults: unknown fault 'boom' (known: kill, delay, dup, drop, jitter, skew, buggify)"
        );
        assert_eq!(
            e("kill=2"),
            "--faults: kill: probability must be between 0 and 1, got '2'"
        );
        assert_eq!(e("delay=0.1:soon"), "--faults: delay: bad duration 'soon'");
        assert_eq!(e("delay=0.1:0s"), "--faults: delay: bad duration '0s'");
        assert_eq!(e("drop=0.1:5ms"), "--faults: drop takes no argument");
        assert_eq!(e("dup,dup"), "--faults: dup given twice");
        assert_eq!(e(""), "--faults: empty fault list");
    }

    #[test]
    fn streams_are_independent_and_repeat() {
        let a = stream(7, "sched").next_u64();
        assert_eq!(a, stream(7, "sched").next_u64());
        assert_ne!(a, stream(7, "fault.kill").next_u64());
        let mut r = stream(1, "x");
        assert!(!chance(&mut r, 0.0) && chance(&mut r, 1.0));
    }
}
