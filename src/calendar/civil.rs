//! Proleptic Gregorian calendar arithmetic on plain integers: days since 1970-01-01 to and
//! from year/month/day, weekdays, days of the year, and Go's `time.Date` normalisation of
//! out-of-range fields. No zones here; `zone.rs` turns wall seconds into instants.
//! Used by [`super::Time`] and the layout code.

/// Seconds in a civil day.
pub const SECS_PER_DAY: i64 = 86_400;

/// Nanoseconds in a second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

/// English month names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// English weekday names, Sunday first.
pub const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Whether `year` is a leap year (year 0 is one, as are -4, -400...).
pub fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` (month 1-12, day 1-31), Howard Hinnant's
/// algorithm; valid for any year whose day count fits an `i64`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `days` after 1970-01-01: (year, month 1-12, day 1-31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Weekday of the day `days` after 1970-01-01 (a Thursday): 0 = Sunday ... 6 = Saturday.
pub fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// Day of the year, 1-366.
pub fn year_day(year: i64, month: u32, day: u32) -> u32 {
    (days_from_civil(year, month, day) - days_from_civil(year, 1, 1) + 1) as u32
}

/// Go's `time.Date` normalisation: the fields may be out of range (month 13, day 0,
/// negative hours, nanoseconds past a second) and carry into the next larger one. Returns
/// the wall clock as seconds since 1970-01-01T00:00:00 (read as if UTC) and the
/// nanoseconds, or `None` when the year is far past any supported range.
pub fn normalize(fields: [i128; 7]) -> Option<(i128, u32)> {
    let [year, month, day, hour, min, sec, nsec] = fields;
    let m0 = month - 1;
    let year = year + m0.div_euclid(12);
    let month = (m0.rem_euclid(12) + 1) as u32;
    // Far outside jiff's (and so moonhost's) range; the caller reports out of range.
    if year.abs() > 1_000_000 {
        return None;
    }
    let first = i128::from(days_from_civil(year as i64, month, 1));
    let secs = (first + day - 1) * i128::from(SECS_PER_DAY)
        + hour * 3600
        + min * 60
        + sec
        + nsec.div_euclid(i128::from(NANOS_PER_SEC));
    Some((secs, nsec.rem_euclid(i128::from(NANOS_PER_SEC)) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_civil_dates() {
        for days in [-1_000_000, -719_468, -1, 0, 1, 59, 60, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-719_528), (0, 1, 1));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap(2024) && is_leap(2000) && is_leap(0) && is_leap(-4));
        assert!(!is_leap(1900) && !is_leap(2023) && !is_leap(-1) && !is_leap(-100));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(year_day(2024, 12, 31), 366);
        assert_eq!(year_day(2023, 12, 31), 365);
    }

    #[test]
    fn weekdays_count_from_a_thursday() {
        assert_eq!(weekday(0), 4);
        assert_eq!(weekday(days_from_civil(2024, 1, 1)), 1);
        assert_eq!(weekday(days_from_civil(1, 1, 1)), 1);
        assert_eq!(weekday(-1), 3);
    }

    #[test]
    fn normalisation_carries_like_go() {
        let (secs, ns) = normalize([2024, 14, 32, 25, 61, 61, 1_000_000_005]).expect("in range");
        let days = (secs / 86_400) as i64;
        assert_eq!(civil_from_days(days), (2025, 3, 5));
        assert_eq!(secs % 86_400, 2 * 3600 + 2 * 60 + 2);
        assert_eq!(ns, 5);
        let (secs, _) = normalize([2024, 0, 0, -1, 0, 0, 0]).expect("in range");
        assert_eq!(
            civil_from_days(secs.div_euclid(86_400) as i64),
            (2023, 11, 29)
        );
        assert_eq!(secs.rem_euclid(86_400), 23 * 3600);
        assert!(normalize([i64::MAX as i128, 1, 1, 0, 0, 0, 0]).is_none());
    }
}
