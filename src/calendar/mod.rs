//! Calendar time (SPEC §9) in plain Rust: a [`Time`] is an instant with nanosecond
//! precision plus a [`Zone`]; `civil` does the calendar arithmetic, `zone` the locations
//! over jiff, `layout` Go's reference layouts (format and parse). The Lua bindings in
//! `lua/calendar.rs` are the only caller; nothing here touches mlua.
//!
//! Invariant: every `Time` lies in years -9999..=9999 (UTC); operations that would leave
//! that range fail with [`OutOfRange`].

pub mod civil;
pub mod layout;
pub mod parse;
pub mod zone;

use civil::{NANOS_PER_SEC, SECS_PER_DAY};
pub use zone::{Offset, Zone};

/// An operation's result fell outside years -9999..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("time: out of range")
    }
}

/// Unix second of -9999-01-01T00:00:00Z.
const MIN_UNIX: i64 = -377_705_116_800;
/// Unix second of 9999-12-31T23:59:59Z.
const MAX_UNIX: i64 = 253_402_300_799;
/// Unix second of Go's zero time, 0001-01-01T00:00:00Z.
pub const ZERO_UNIX: i64 = -62_135_596_800;

/// An instant plus the zone it is read in.
#[derive(Debug, Clone)]
pub struct Time {
    /// Seconds since 1970-01-01T00:00:00Z.
    unix: i64,
    /// Nanoseconds within the second, 0..1e9.
    nsec: u32,
    /// The zone fields are read in.
    zone: Zone,
}

/// A Time's clock and calendar fields in its own zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// Year (may be 0 or negative).
    pub year: i64,
    /// Month 1-12.
    pub month: u32,
    /// Day of the month 1-31.
    pub day: u32,
    /// Hour 0-23.
    pub hour: u32,
    /// Minute 0-59.
    pub min: u32,
    /// Second 0-59.
    pub sec: u32,
    /// Nanosecond 0-999999999.
    pub nsec: u32,
    /// 0 = Sunday ... 6.
    pub weekday: u32,
    /// Day of the year 1-366.
    pub yday: u32,
    /// The offset in force, with its abbreviation.
    pub offset: Offset,
}

impl Time {
    /// The instant `unix` seconds + `nsec` (any value; it carries) after the epoch.
    ///
    /// # Errors
    /// [`OutOfRange`] outside years -9999..=9999.
    pub fn from_unix(unix: i128, nsec: i128, zone: Zone) -> Result<Time, OutOfRange> {
        Time::from_nanos(unix * i128::from(NANOS_PER_SEC) + nsec, zone)
    }

    /// The instant `ns` nanoseconds after the epoch.
    ///
    /// # Errors
    /// [`OutOfRange`] outside years -9999..=9999.
    pub fn from_nanos(ns: i128, zone: Zone) -> Result<Time, OutOfRange> {
        let unix = ns.div_euclid(i128::from(NANOS_PER_SEC));
        if unix < i128::from(MIN_UNIX) || unix > i128::from(MAX_UNIX) {
            return Err(OutOfRange);
        }
        let nsec = ns.rem_euclid(i128::from(NANOS_PER_SEC)) as u32;
        Ok(Time {
            unix: unix as i64,
            nsec,
            zone,
        })
    }

    /// Go's `time.Date`: fields normalise (§9.3) and the wall clock becomes an instant by
    /// [`Zone::wall_to_unix`].
    ///
    /// # Errors
    /// [`OutOfRange`] when the result leaves years -9999..=9999.
    pub fn date(fields: [i128; 7], zone: Zone) -> Result<Time, OutOfRange> {
        let (wall, nsec) = civil::normalize(fields).ok_or(OutOfRange)?;
        // Keep well inside i64 before asking the zone (offsets are under a day).
        if wall < i128::from(MIN_UNIX - SECS_PER_DAY) || wall > i128::from(MAX_UNIX + SECS_PER_DAY)
        {
            return Err(OutOfRange);
        }
        let unix = zone.wall_to_unix(wall as i64);
        Time::from_unix(i128::from(unix), i128::from(nsec), zone)
    }

    /// Nanoseconds since the epoch, exactly.
    pub fn nanos(&self) -> i128 {
        i128::from(self.unix) * i128::from(NANOS_PER_SEC) + i128::from(self.nsec)
    }

    /// Whole seconds since the epoch (floor).
    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// Nanoseconds since the epoch wrapped into an `i64` like Go's `UnixNano`.
    pub fn unix_nano(&self) -> i64 {
        self.unix
            .wrapping_mul(NANOS_PER_SEC)
            .wrapping_add(i64::from(self.nsec))
    }

    /// The zone this Time is read in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The same instant read in `zone`.
    pub fn with_zone(&self, zone: Zone) -> Time {
        Time { zone, ..*self }
    }

    /// Whether this is Go's zero time, 0001-01-01T00:00:00Z (in any zone).
    pub fn is_zero(&self) -> bool {
        self.unix == ZERO_UNIX && self.nsec == 0
    }

    /// The clock and calendar fields in this Time's zone.
    pub fn fields(&self) -> Fields {
        let offset = self.zone.lookup(self.unix);
        let wall = self.unix + i64::from(offset.secs);
        let days = wall.div_euclid(SECS_PER_DAY);
        let sod = wall.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil::civil_from_days(days);
        Fields {
            year,
            month,
            day,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
            nsec: self.nsec,
            weekday: civil::weekday(days),
            yday: civil::year_day(year, month, day),
            offset,
        }
    }

    /// This Time moved by `d` nanoseconds.
    ///
    /// # Errors
    /// [`OutOfRange`] when the result leaves the supported years.
    pub fn add(&self, d: i64) -> Result<Time, OutOfRange> {
        Time::from_nanos(self.nanos() + i128::from(d), self.zone.clone())
    }

    /// `self - other` in nanoseconds, saturating at the `i64` limits as Go does.
    pub fn sub(&self, other: &Time) -> i64 {
        let d = self.nanos() - other.nanos();
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Go's `AddDate`: the date fields moved, then normalised like [`Time::date`].
    ///
    /// # Errors
    /// [`OutOfRange`] when the result leaves the supported years.
    pub fn add_date(&self, years: i64, months: i64, days: i64) -> Result<Time, OutOfRange> {
        let f = self.fields();
        Time::date(
            [
                i128::from(f.year) + i128::from(years),
                i128::from(f.month) + i128::from(months),
                i128::from(f.day) + i128::from(days),
                i128::from(f.hour),
                i128::from(f.min),
                i128::from(f.sec),
                i128::from(f.nsec),
            ],
            self.zone.clone(),
        )
    }

    /// Nanoseconds past the last multiple of `d` counted from Go's zero time (`d > 0`).
    fn rem_since_zero(&self, d: i64) -> i128 {
        let since = self.nanos() - i128::from(ZERO_UNIX) * i128::from(NANOS_PER_SEC);
        since.rem_euclid(i128::from(d))
    }

    /// Go's `Truncate`: down to a multiple of `d` since the zero time; `d <= 0` unchanged.
    ///
    /// # Errors
    /// [`OutOfRange`] when the result leaves the supported years.
    pub fn truncate(&self, d: i64) -> Result<Time, OutOfRange> {
        if d <= 0 {
            return Ok(self.clone());
        }
        Time::from_nanos(self.nanos() - self.rem_since_zero(d), self.zone.clone())
    }

    /// Go's `Round`: to the nearest multiple of `d` since the zero time, halfway up;
    /// `d <= 0` unchanged.
    ///
    /// # Errors
    /// [`OutOfRange`] when the result leaves the supported years.
    pub fn round(&self, d: i64) -> Result<Time, OutOfRange> {
        if d <= 0 {
            return Ok(self.clone());
        }
        let r = self.rem_since_zero(d);
        let ns = if r + r < i128::from(d) {
            self.nanos() - r
        } else {
            self.nanos() + i128::from(d) - r
        };
        Time::from_nanos(ns, self.zone.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(f: [i128; 7]) -> Time {
        Time::date(f, Zone::utc()).expect("in range")
    }

    #[test]
    fn range_limits_are_the_years_minus_9999_to_9999() {
        assert_eq!(utc([-9999, 1, 1, 0, 0, 0, 0]).unix(), MIN_UNIX);
        assert_eq!(utc([9999, 12, 31, 23, 59, 59, 0]).unix(), MAX_UNIX);
        assert!(Time::date([10000, 1, 1, 0, 0, 0, 0], Zone::utc()).is_err());
        assert!(Time::date([-10000, 12, 31, 0, 0, 0, 0], Zone::utc()).is_err());
        assert_eq!(utc([1, 1, 1, 0, 0, 0, 0]).unix(), ZERO_UNIX);
    }

    #[test]
    fn round_and_truncate_count_from_the_zero_time() {
        let t = utc([2024, 1, 1, 12, 34, 56, 789_000_000]);
        let s = 1_000_000_000i64;
        assert_eq!(t.round(s).expect("ok").fields().sec, 57);
        assert_eq!(t.truncate(60 * s).expect("ok").fields().min, 34);
        let t = utc([2024, 1, 1, 12, 34, 56, 0]);
        assert_eq!(t.round(7 * 3600 * s).expect("ok").fields().hour, 14);
        assert_eq!(t.round(0).expect("ok").nanos(), t.nanos());
    }

    #[test]
    fn sub_saturates_and_unix_nano_wraps() {
        let a = utc([9999, 1, 1, 0, 0, 0, 0]);
        let b = utc([-9999, 1, 1, 0, 0, 0, 0]);
        assert_eq!(a.sub(&b), i64::MAX);
        assert_eq!(b.sub(&a), i64::MIN);
        let expect = (a.nanos() as u128 as u64) as i64;
        assert_eq!(a.unix_nano(), expect);
    }

    #[test]
    fn add_date_normalises() {
        let t = utc([2024, 12, 29, 0, 0, 0, 0])
            .add_date(1, 2, 3)
            .expect("ok");
        assert_eq!(
            (t.fields().year, t.fields().month, t.fields().day),
            (2026, 3, 4)
        );
        let t = utc([2023, 1, 31, 0, 0, 0, 0])
            .add_date(0, 1, 0)
            .expect("ok");
        assert_eq!((t.fields().month, t.fields().day), (3, 3));
    }
}
