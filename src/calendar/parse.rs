//! Parsing with Go's reference layouts (SPEC §9.5): Go's `time.parse` with its zone rules
//! and exact error messages, on bytes. The tokenizer is shared with formatting
//! (`layout.rs`).

mod fields;

use super::civil::{days_in_month, is_leap};
use super::layout::next_token;
use super::{OutOfRange, Time, Zone};
use fields::{Parsed, atoi, field};

/// Why a value did not parse; `Display` gives Go's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `parsing time "<value>" as "<layout>": cannot parse "<rest>" as "<elem>"`.
    Mismatch {
        /// The whole value.
        value: Vec<u8>,
        /// The whole layout.
        layout: Vec<u8>,
        /// The value from the point of mismatch.
        rest: Vec<u8>,
        /// The token or literal run that did not match.
        elem: Vec<u8>,
    },
    /// `parsing time "<value>"<message>` (message starts with `: `).
    Message {
        /// The whole value.
        value: Vec<u8>,
        /// E.g. `: month out of range`.
        message: String,
    },
    /// The result left years -9999..=9999.
    Range(OutOfRange),
}

/// Go's `time.quote`: `"` and `\` escaped, control and non-ASCII bytes as `\xhh`.
pub fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        if !(b' '..0x80).contains(&c) {
            out.push_str(&format!("\\x{c:02x}"));
        } else {
            if c == b'"' || c == b'\\' {
                out.push('\\');
            }
            out.push(char::from(c));
        }
    }
    out.push('"');
    out
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Mismatch {
                value,
                layout,
                rest,
                elem,
            } => write!(
                f,
                "parsing time {} as {}: cannot parse {} as {}",
                quote(value),
                quote(layout),
                quote(rest),
                quote(elem)
            ),
            ParseError::Message { value, message } => {
                write!(f, "parsing time {}{message}", quote(value))
            }
            ParseError::Range(e) => e.fmt(f),
        }
    }
}

/// Go's `time.ParseInLocation(layout, value, loc)`.
///
/// # Errors
/// [`ParseError`] with Go's message.
pub fn parse(layout: &[u8], value: &[u8], loc: &Zone) -> Result<Time, ParseError> {
    let mut p = Parsed::default();
    let mut lay = layout;
    let mut val = value;
    let msg = |message: String| ParseError::Message {
        value: value.to_vec(),
        message,
    };
    let mismatch = |rest: &[u8], elem: &[u8]| ParseError::Mismatch {
        value: value.to_vec(),
        layout: layout.to_vec(),
        rest: rest.to_vec(),
        elem: elem.to_vec(),
    };
    loop {
        let (lit, tok) = next_token(lay);
        val = skip(val, lit).map_err(|rest| mismatch(rest, lit))?;
        let Some((tok, after)) = tok else {
            if !val.is_empty() {
                return Err(msg(format!(": extra text: {}", quote(val))));
            }
            break;
        };
        let elem = &lay[lit.len()..lay.len() - after.len()];
        lay = after;
        let hold = val;
        let mut range = None;
        match field(&mut p, tok, &mut val, lay, &mut range) {
            _ if range.is_some() => {
                let what = range.expect("checked");
                return Err(msg(format!(": {what} out of range")));
            }
            Err(_) => return Err(mismatch(hold, elem)),
            Ok(()) => {}
        }
    }
    finish(p, loc).map_err(|e| match e {
        Finish::Message(m) => msg(m.to_string()),
        Finish::Range(r) => ParseError::Range(r),
    })
}

/// Go's `skip`: the literal `prefix` off the front of `value`; a run of spaces matches
/// any run of spaces (or the end). Err carries the value where it stopped matching.
fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Result<&'a [u8], &'a [u8]> {
    while let Some(&c) = prefix.first() {
        if c == b' ' {
            if value.first().is_some_and(|&v| v != b' ') {
                return Err(value);
            }
            prefix = trim_spaces(prefix);
            value = trim_spaces(value);
            continue;
        }
        if value.first() != Some(&c) {
            return Err(value);
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

fn trim_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

enum Finish {
    Message(&'static str),
    Range(OutOfRange),
}

/// Day-of-year, defaults and validation, then the zone rules of SPEC §9.5.
fn finish(mut p: Parsed, loc: &Zone) -> Result<Time, Finish> {
    if p.pm && p.hour < 12 {
        p.hour += 12;
    } else if p.am && p.hour == 12 {
        p.hour = 0;
    }
    let (month, day) = match p.yday {
        Some(yday) => month_day_of_yday(p.year, yday, p.month, p.day)?,
        None => (p.month.unwrap_or(1), p.day.unwrap_or(1)),
    };
    if day < 1 || day > i64::from(days_in_month(p.year, month as u32)) {
        return Err(Finish::Message(": day out of range"));
    }
    let f = [p.year, month, day, p.hour, p.min, p.sec, p.nsec].map(i128::from);
    let abbrev = p
        .abbrev
        .as_ref()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    in_zone(f, p.utc, p.offset, abbrev, loc).map_err(Finish::Range)
}

/// The zone rules of SPEC §9.5: `Z`/`UTC`, then a numeric offset (in `loc` when `loc` has
/// it then), then an abbreviation alone, else the wall clock in `loc`.
fn in_zone(
    f: [i128; 7],
    utc: bool,
    offset: Option<i32>,
    abbrev: Option<String>,
    loc: &Zone,
) -> Result<Time, OutOfRange> {
    if utc {
        return Time::date(f, Zone::utc());
    }
    let secs = |off: i32| -i64::from(off) * 1_000_000_000;
    if let Some(off) = offset {
        let t = Time::date(f, Zone::utc())?.add(secs(off))?;
        let o = loc.lookup(t.unix());
        if o.secs == off && abbrev.as_ref().is_none_or(|a| *a == o.abbrev) {
            return Ok(t.with_zone(loc.clone()));
        }
        return Ok(t.with_zone(Zone::fixed(abbrev.as_deref().unwrap_or(""), off)));
    }
    if let Some(name) = abbrev {
        let t = Time::date(f, Zone::utc())?;
        if let Some(off) = offset_named(loc, &name, t.unix()) {
            return Ok(t.add(secs(off))?.with_zone(loc.clone()));
        }
        // GMT+h keeps the clock reading as UTC and only labels it (Go's behaviour).
        let hours = match name.strip_prefix("GMT") {
            Some(h) if !h.is_empty() => atoi(h.as_bytes()).unwrap_or(0),
            _ => 0,
        };
        return Ok(t.with_zone(Zone::fixed(&name, (hours * 3600) as i32)));
    }
    Time::date(f, loc.clone())
}

/// Go's `lookupName`, limited to the offsets in force around the wall clock `wall`:
/// an offset whose abbreviation is `name` and that is in force at `wall - offset`.
fn offset_named(loc: &Zone, name: &str, wall: i64) -> Option<i32> {
    loc.nearby(wall).into_iter().find_map(|cand| {
        if cand.abbrev != name {
            return None;
        }
        let o = loc.lookup(wall - i64::from(cand.secs));
        (o.abbrev == name).then_some(o.secs)
    })
}

/// Go's conversion of a day of the year to month and day, checked against any month and
/// day the value also gave.
fn month_day_of_yday(
    year: i64,
    mut yday: i64,
    month: Option<i64>,
    day: Option<i64>,
) -> Result<(i64, i64), Finish> {
    const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let mut found = None;
    if is_leap(year) {
        if yday == 31 + 29 {
            found = Some((2, 29));
        } else if yday > 31 + 29 {
            yday -= 1;
        }
    }
    if !(1..=365).contains(&yday) {
        return Err(Finish::Message(": day-of-year out of range"));
    }
    let (m, d) = found.unwrap_or_else(|| {
        let mut m = (yday - 1) / 31 + 1;
        if BEFORE[m as usize] < yday {
            m += 1;
        }
        (m, yday - BEFORE[m as usize - 1])
    });
    if month.is_some_and(|x| x != m) {
        return Err(Finish::Message(": day-of-year does not match month"));
    }
    if day.is_some_and(|x| x != d) {
        return Err(Finish::Message(": day-of-year does not match day"));
    }
    Ok((m, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::layout::format;

    fn ok(layout: &str, value: &str, loc: &Zone) -> String {
        let t = parse(layout.as_bytes(), value.as_bytes(), loc).expect("parses");
        let f = format(&t, b"2006-01-02 15:04:05.999999999 -0700 MST");
        String::from_utf8(f).expect("ascii")
    }

    fn err(layout: &str, value: &str) -> String {
        parse(layout.as_bytes(), value.as_bytes(), &Zone::utc())
            .expect_err("fails")
            .to_string()
    }

    #[test]
    fn go_error_messages() {
        assert_eq!(
            err("2006-01-02", "invalid-date"),
            r#"parsing time "invalid-date" as "2006-01-02": cannot parse "invalid-date" as "2006""#
        );
        assert_eq!(
            err("2006-01-02", "2024/12/29"),
            r#"parsing time "2024/12/29" as "2006-01-02": cannot parse "/12/29" as "-""#
        );
        assert_eq!(
            err("2006-01-02", "2024-13-01"),
            r#"parsing time "2024-13-01": month out of range"#
        );
        assert_eq!(
            err("2006-01-02", "2023-02-29"),
            r#"parsing time "2023-02-29": day out of range"#
        );
        assert_eq!(
            err("2006-01-02", "2024-01-02x"),
            r#"parsing time "2024-01-02x": extra text: "x""#
        );
        assert_eq!(
            err("2006 002", "2023 366"),
            r#"parsing time "2023 366": day-of-year out of range"#
        );
        assert_eq!(
            err("-0700", "+2500"),
            r#"parsing time "+2500": time zone offset hour out of range"#
        );
        assert_eq!(
            err("2006", "\"\x01é"),
            r#"parsing time "\"\x01\xc3\xa9" as "2006": cannot parse "\"\x01\xc3\xa9" as "2006""#
        );
    }

    #[test]
    fn zones_of_the_result() {
        let ny = Zone::load("America/New_York").expect("bundled");
        let utc = Zone::utc();
        assert_eq!(
            ok("2006-01-02 15:04 MST", "2024-07-01 10:00 EDT", &ny),
            "2024-07-01 10:00:00 -0400 EDT"
        );
        assert_eq!(
            ok("2006-01-02 15:04 MST", "2024-07-01 10:00 EDT", &utc),
            "2024-07-01 10:00:00 +0000 EDT"
        );
        assert_eq!(
            ok("2006-01-02 15:04 -0700", "2024-07-01 10:00 -0400", &ny),
            "2024-07-01 10:00:00 -0400 EDT"
        );
        assert_eq!(
            ok("2006-01-02 15:04 -0700", "2024-07-01 10:00 +0200", &ny),
            "2024-07-01 10:00:00 +0200 +0200"
        );
        assert_eq!(
            ok("15:04 MST", "10:00 GMT+3", &utc),
            "0000-01-01 13:00:00 +0300 GMT+3"
        );
        assert_eq!(
            ok("15:04:05", "10:30:00.123", &utc),
            "0000-01-01 10:30:00.123 +0000 UTC"
        );
        assert_eq!(
            ok("3:04PM", "12:30AM", &utc),
            "0000-01-01 00:30:00 +0000 UTC"
        );
        assert_eq!(
            ok("2006 002", "2024 060", &utc),
            "2024-02-29 00:00:00 +0000 UTC"
        );
        assert_eq!(
            ok("Jan _2 2006", "FEB  9 2024", &ny),
            "2024-02-09 00:00:00 -0500 EST"
        );
    }
}
