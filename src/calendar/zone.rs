//! Locations (SPEC §9.2): a name plus zone rules. Rules come from jiff, and named zones only
//! from the IANA database bundled into the binary (never the machine's zoneinfo files), so
//! offsets and abbreviations are the same on every machine. Go's wall-clock-to-instant rule
//! (§9.3) lives here too. A [`Zone`] is cheap to clone (shared).

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use std::rc::Rc;
use std::sync::OnceLock;

/// A named set of zone rules, shared by every Time and Location that uses it.
#[derive(Debug, Clone)]
pub struct Zone(Rc<ZoneData>);

#[derive(Debug)]
struct ZoneData {
    /// What `loc:string()` prints.
    name: String,
    rules: Rules,
}

#[derive(Debug)]
enum Rules {
    /// Offset 0, abbreviation `UTC`.
    Utc,
    /// One offset (seconds east of UTC); the abbreviation is the zone's name.
    Fixed(i32),
    /// IANA rules from the bundled database.
    Tz(TimeZone),
}

/// The offset in force at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offset {
    /// Seconds east of UTC.
    pub secs: i32,
    /// Abbreviation (`EST`, `LMT`, `+03`); empty for a fixed zone named `""`.
    pub abbrev: String,
}

/// Why a location name did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The name was `""`.
    Empty,
    /// The name contains `..` or starts with `/` or `\`.
    BadName,
    /// The bundled database has no zone of exactly this name.
    Unknown(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Empty => f.write_str("empty location name"),
            LoadError::BadName => f.write_str("time: invalid location name"),
            LoadError::Unknown(n) => write!(f, "unknown time zone {n}"),
        }
    }
}

fn bundled() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

impl Zone {
    /// UTC, named `"UTC"`.
    pub fn utc() -> Zone {
        Zone::with("UTC", Rules::Utc)
    }

    /// A zone with one fixed offset; `name` (may be empty) is also its abbreviation.
    pub fn fixed(name: &str, offset_secs: i32) -> Zone {
        Zone::with(name, Rules::Fixed(offset_secs))
    }

    fn with(name: &str, rules: Rules) -> Zone {
        Zone(Rc::new(ZoneData {
            name: name.to_string(),
            rules,
        }))
    }

    /// Loads `name` from the bundled database, exactly and case-sensitively; `"UTC"` is
    /// UTC. (`"Local"` is the caller's business: it depends on the runtime.)
    ///
    /// # Errors
    /// [`LoadError`] for an empty, malformed or unknown name.
    pub fn load(name: &str) -> Result<Zone, LoadError> {
        if name.is_empty() {
            return Err(LoadError::Empty);
        }
        if name == "UTC" {
            return Ok(Zone::utc());
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err(LoadError::BadName);
        }
        let unknown = || LoadError::Unknown(name.to_string());
        let tz = bundled().get(name).map_err(|_| unknown())?;
        // jiff matches names without regard to case; Go on Linux does not.
        if tz.iana_name() != Some(name) {
            return Err(unknown());
        }
        Ok(Zone::with(name, Rules::Tz(tz)))
    }

    /// The local zone for a `TZ` variable's value (`None`: unset), per SPEC §9.2: `""` or
    /// `"UTC"` is UTC; a bundled IANA name (one leading `:` ignored) is that zone under that
    /// name; unset is the system zone, resolved to a bundled zone by name and named
    /// `"Local"`; anything that fails is UTC.
    pub fn local_from_tz(tz: Option<&str>) -> Zone {
        match tz {
            Some(v) => {
                let name = v.strip_prefix(':').unwrap_or(v);
                Zone::load(name).unwrap_or_else(|_| Zone::utc())
            }
            None => TimeZone::try_system()
                .ok()
                .and_then(|tz| tz.iana_name().map(str::to_string))
                .and_then(|n| Zone::load(&n).ok())
                .map(|z| z.renamed("Local"))
                .unwrap_or_else(Zone::utc),
        }
    }

    /// The same rules under another name.
    pub fn renamed(&self, name: &str) -> Zone {
        let rules = match &self.0.rules {
            Rules::Utc => Rules::Utc,
            Rules::Fixed(o) => Rules::Fixed(*o),
            Rules::Tz(tz) => Rules::Tz(tz.clone()),
        };
        Zone::with(name, rules)
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether both values are the very same zone (not merely equal rules).
    pub fn same(&self, other: &Zone) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The offset and abbreviation in force at unix second `unix`. Instants outside jiff's
    /// range use the nearest one it knows (the first recorded offset, or the final rule).
    pub fn lookup(&self, unix: i64) -> Offset {
        match &self.0.rules {
            Rules::Utc => Offset {
                secs: 0,
                abbrev: "UTC".into(),
            },
            Rules::Fixed(o) => Offset {
                secs: *o,
                abbrev: self.0.name.clone(),
            },
            Rules::Tz(tz) => {
                let info = tz.to_offset_info(timestamp(unix));
                Offset {
                    secs: info.offset().seconds(),
                    abbrev: info.abbreviation().to_string(),
                }
            }
        }
    }

    /// The offsets in force around `unix`: at it, just before the previous transition and at
    /// the next one (for matching a parsed abbreviation near a transition).
    pub fn nearby(&self, unix: i64) -> Vec<Offset> {
        let mut out = vec![self.lookup(unix)];
        if let Rules::Tz(tz) = &self.0.rules {
            let ts = timestamp(unix);
            if let Some(t) = tz.preceding(ts).next() {
                out.push(self.lookup(t.timestamp().as_second() - 1));
            }
            if let Some(t) = tz.following(ts).next() {
                out.push(self.lookup(t.timestamp().as_second()));
            }
        }
        out
    }

    /// The instant (unix seconds) of wall clock `wall` (seconds since 1970-01-01T00:00:00
    /// read as UTC), by Go's rule: take the offset `o1` in force at `wall` read as UTC; the
    /// result uses the offset in force at `wall - o1`. Repeated wall times get the earlier
    /// instant, skipped ones land before the gap (for zones whose offsets there are not 0).
    pub fn wall_to_unix(&self, wall: i64) -> i64 {
        let o1 = self.lookup(wall).secs;
        if o1 == 0 {
            return wall;
        }
        // If wall - o1 lies in o1's own period, the lookup gives o1 back.
        wall - i64::from(self.lookup(wall - i64::from(o1)).secs)
    }
}

fn timestamp(unix: i64) -> Timestamp {
    let s = unix.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(s).expect("clamped into jiff's range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_load_exactly() {
        assert_eq!(Zone::load("").unwrap_err(), LoadError::Empty);
        assert_eq!(Zone::load("../etc").unwrap_err(), LoadError::BadName);
        assert_eq!(Zone::load("/etc/x").unwrap_err(), LoadError::BadName);
        assert_eq!(
            Zone::load("america/new_york").unwrap_err().to_string(),
            "unknown time zone america/new_york"
        );
        assert_eq!(Zone::load("UTC").expect("utc").name(), "UTC");
        assert_eq!(
            Zone::load("Asia/Tokyo").expect("tokyo").lookup(0).secs,
            9 * 3600
        );
    }

    #[test]
    fn new_york_offsets_and_abbreviations() {
        let ny = Zone::load("America/New_York").expect("bundled");
        assert_eq!(ny.lookup(1_704_067_200).abbrev, "EST");
        assert_eq!(ny.lookup(1_720_000_000).secs, -4 * 3600);
        // Before the first transition: local mean time.
        let lmt = ny.lookup(-5_000_000_000);
        assert_eq!((lmt.secs, lmt.abbrev.as_str()), (-17_762, "LMT"));
    }

    #[test]
    fn wall_clock_follows_go_in_gaps_and_overlaps() {
        let ny = Zone::load("America/New_York").expect("bundled");
        // 2024-03-10 02:30 (skipped) -> 01:30 EST = 06:30Z.
        assert_eq!(ny.wall_to_unix(1_710_037_800), 1_710_037_800 + 4 * 3600);
        // 2024-11-03 01:30 (repeated) -> 01:30 EDT = 05:30Z.
        assert_eq!(ny.wall_to_unix(1_730_597_400), 1_730_597_400 + 4 * 3600);
        let london = Zone::load("Europe/London").expect("bundled");
        // 2024-10-27 01:30 (repeated): the GMT reading, Go's lookup at offset 0.
        assert_eq!(london.wall_to_unix(1_729_992_600), 1_729_992_600);
    }

    #[test]
    fn local_zone_from_tz() {
        assert_eq!(Zone::local_from_tz(Some("")).name(), "UTC");
        assert_eq!(
            Zone::local_from_tz(Some(":Asia/Tokyo")).name(),
            "Asia/Tokyo"
        );
        assert_eq!(Zone::local_from_tz(Some("Nowhere/Else")).name(), "UTC");
    }
}
