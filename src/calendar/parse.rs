//! Parsing with Go's reference layouts (SPEC §9.5): Go's `time.parse` with its zone rules
//! and exact error messages, on bytes. The tokenizer is shared with formatting
//! (`layout.rs`).

use super::civil::{MONTHS, WEEKDAYS, days_in_month, is_leap};
use super::layout::{Shape, Token, next_token};
use super::{OutOfRange, Time, Zone};

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

/// A token or field that did not match (Go's `errBad`).
struct Bad;

/// What the fields of a value said, before the zone is applied.
#[derive(Debug, Default)]
struct Parsed {
    year: i64,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
    am: bool,
    pm: bool,
    /// `Z` or `UTC` was read.
    utc: bool,
    offset: Option<i32>,
    abbrev: Option<Vec<u8>>,
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
            Err(Bad) => return Err(mismatch(hold, elem)),
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

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `getnum`: one or two digits (`fixed`: exactly two).
fn getnum(s: &mut &[u8], fixed: bool) -> Result<i64, Bad> {
    if !is_digit(s, 0) {
        return Err(Bad);
    }
    if !is_digit(s, 1) {
        if fixed {
            return Err(Bad);
        }
        let n = i64::from(s[0] - b'0');
        *s = &s[1..];
        return Ok(n);
    }
    let n = i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0');
    *s = &s[2..];
    Ok(n)
}

/// Go's `getnum3`: one to three digits (`fixed`: exactly three).
fn getnum3(s: &mut &[u8], fixed: bool) -> Result<i64, Bad> {
    let n = s.iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (fixed && n != 3) {
        return Err(Bad);
    }
    let v = s[..n].iter().fold(0, |a, &c| a * 10 + i64::from(c - b'0'));
    *s = &s[n..];
    Ok(v)
}

/// Go's `atoi`: an optional sign, then only digits.
fn atoi(s: &[u8]) -> Result<i64, Bad> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 18 {
        return Err(Bad);
    }
    let v = digits
        .iter()
        .fold(0i64, |a, &c| a * 10 + i64::from(c - b'0'));
    Ok(if neg { -v } else { v })
}

/// Go's `lookup`: the first name that prefixes `s`, ignoring ASCII case.
fn lookup(names: &[&str], short: bool, s: &mut &[u8]) -> Result<usize, Bad> {
    for (i, name) in names.iter().enumerate() {
        let name = if short {
            &name.as_bytes()[..3]
        } else {
            name.as_bytes()
        };
        if s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name) {
            *s = &s[name.len()..];
            return Ok(i);
        }
    }
    Err(Bad)
}

fn take<'a>(s: &mut &'a [u8], n: usize) -> Result<&'a [u8], Bad> {
    if s.len() < n {
        return Err(Bad);
    }
    let (head, tail) = s.split_at(n);
    *s = tail;
    Ok(head)
}

/// Reads one token's field from `v` into `p`; a value out of range goes to `range`.
fn field(
    p: &mut Parsed,
    tok: Token,
    v: &mut &[u8],
    rest_layout: &[u8],
    range: &mut Option<&'static str>,
) -> Result<(), Bad> {
    use Token::*;
    let mut check = |ok: bool, what| {
        if !ok {
            *range = Some(what);
        }
    };
    match tok {
        Year => {
            let y = atoi(take(v, 2)?)?;
            p.year = if y >= 69 { y + 1900 } else { y + 2000 };
        }
        LongYear => {
            if !is_digit(v, 0) {
                return Err(Bad);
            }
            p.year = atoi(take(v, 4)?)?;
        }
        Month | LongMonth => p.month = Some(lookup(&MONTHS, tok == Month, v)? as i64 + 1),
        NumMonth | ZeroMonth => {
            let m = getnum(v, tok == ZeroMonth)?;
            check((1..=12).contains(&m), "month");
            p.month = Some(m);
        }
        WeekDay | LongWeekDay => {
            lookup(&WEEKDAYS, tok == WeekDay, v)?;
        }
        Day | UnderDay | ZeroDay => {
            if tok == UnderDay && v.first() == Some(&b' ') {
                *v = &v[1..];
            }
            p.day = Some(getnum(v, tok == ZeroDay)?);
        }
        UnderYearDay | ZeroYearDay => {
            for _ in 0..2 {
                if tok == UnderYearDay && v.first() == Some(&b' ') {
                    *v = &v[1..];
                }
            }
            p.yday = Some(getnum3(v, tok == ZeroYearDay)?);
        }
        Hour => {
            let r = getnum(v, false);
            check(r.as_ref().map_or(true, |h| (0..24).contains(h)), "hour");
            p.hour = r?;
        }
        Hour12 | ZeroHour12 => {
            let r = getnum(v, tok == ZeroHour12);
            check(r.as_ref().map_or(true, |h| (0..=12).contains(h)), "hour");
            p.hour = r?;
        }
        Minute | ZeroMinute => {
            let r = getnum(v, tok == ZeroMinute);
            check(r.as_ref().map_or(true, |m| (0..60).contains(m)), "minute");
            p.min = r?;
        }
        Second | ZeroSecond => second(p, v, rest_layout, range, tok == ZeroSecond)?,
        Pm | LowerPm => {
            let s = take(v, 2)?;
            let (am, pm): (&[u8], &[u8]) = if tok == Pm {
                (b"AM", b"PM")
            } else {
                (b"am", b"pm")
            };
            if s == pm {
                p.pm = true;
            } else if s == am {
                p.am = true;
            } else {
                return Err(Bad);
            }
        }
        Offset { z: true, .. } if v.first() == Some(&b'Z') => {
            *v = &v[1..];
            p.utc = true;
        }
        Offset { shape, .. } => p.offset = Some(offset(v, shape, range)?),
        Tz => zone_name(p, v)?,
        Frac {
            nines: false,
            digits,
            ..
        } => {
            let n = 1 + digits;
            if v.len() < n {
                return Err(Bad);
            }
            p.nsec = nanoseconds(&v[..n], range)?;
            *v = &v[n..];
        }
        Frac { nines: true, .. } => {
            if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
                return Ok(());
            }
            let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            p.nsec = nanoseconds(&v[..n], range)?;
            *v = &v[n..];
        }
    }
    Ok(())
}

/// Seconds, plus a fraction the layout does not ask for (Go accepts `10:30:00.123` for
/// `15:04:05`).
fn second(
    p: &mut Parsed,
    v: &mut &[u8],
    rest_layout: &[u8],
    range: &mut Option<&'static str>,
    fixed: bool,
) -> Result<(), Bad> {
    p.sec = getnum(v, fixed)?;
    if !(0..60).contains(&p.sec) {
        *range = Some("second");
        return Ok(());
    }
    if v.len() >= 2 && matches!(v[0], b'.' | b',') && v[1].is_ascii_digit() {
        let (lit, next) = next_token(rest_layout);
        if lit.is_empty() && matches!(next, Some((Token::Frac { .. }, _))) {
            return Ok(());
        }
        let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        p.nsec = nanoseconds(&v[..n], range)?;
        *v = &v[n..];
    }
    Ok(())
}

/// Go's `parseNanoseconds`: separator then digits (only the first nine count).
fn nanoseconds(s: &[u8], range: &mut Option<&'static str>) -> Result<i64, Bad> {
    if !matches!(s[0], b'.' | b',') {
        return Err(Bad);
    }
    let s = &s[..s.len().min(10)];
    let ns = atoi(&s[1..])?;
    if ns < 0 {
        *range = Some("fractional second");
        return Ok(0);
    }
    Ok(ns * 10i64.pow(10 - s.len() as u32))
}

/// A numeric offset of `shape`, in seconds east.
fn offset(v: &mut &[u8], shape: Shape, range: &mut Option<&'static str>) -> Result<i32, Bad> {
    let (len, colons): (usize, &[usize]) = match shape {
        Shape::Hours => (3, &[]),
        Shape::HoursMinutes => (5, &[]),
        Shape::ColonMinutes => (6, &[3]),
        Shape::Seconds => (7, &[]),
        Shape::ColonSeconds => (9, &[3, 6]),
    };
    if v.len() < len || colons.iter().any(|&i| v[i] != b':') {
        return Err(Bad);
    }
    let s = take(v, len)?;
    let digits: Vec<u8> = s[1..].iter().copied().filter(|&c| c != b':').collect();
    let mut parts = [0i64; 3];
    for (i, part) in parts.iter_mut().enumerate().take(digits.len() / 2) {
        *part = getnum(&mut &digits[2 * i..], true)?;
    }
    let [hh, mm, ss] = parts;
    if hh > 24 {
        *range = Some("time zone offset hour");
    }
    if mm > 60 {
        *range = Some("time zone offset minute");
    }
    if ss > 60 {
        *range = Some("time zone offset second");
    }
    let secs = ((hh * 60 + mm) * 60 + ss) as i32;
    match s[0] {
        b'+' => Ok(secs),
        b'-' => Ok(-secs),
        _ => Err(Bad),
    }
}

/// The `MST` token: `UTC`, or something that looks like a zone abbreviation.
fn zone_name(p: &mut Parsed, v: &mut &[u8]) -> Result<(), Bad> {
    if v.starts_with(b"UTC") {
        *v = &v[3..];
        p.utc = true;
        return Ok(());
    }
    let n = abbrev_len(v).ok_or(Bad)?;
    p.abbrev = Some(v[..n].to_vec());
    *v = &v[n..];
    Ok(())
}

/// Go's `parseTimeZone`: the length of the abbreviation starting `v`.
fn abbrev_len(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        return Some(3 + signed_offset_len(&v[3..]).unwrap_or(0));
    }
    if matches!(v[0], b'+' | b'-') {
        return signed_offset_len(v);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        3 => Some(3),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        5 if v[4] == b'T' => Some(5),
        _ => None,
    }
}

/// A sign and an hour up to 24 (`+3`, `-03`), or four digits `hhmm` (`-0330`).
fn signed_offset_len(v: &[u8]) -> Option<usize> {
    if !matches!(v.first(), Some(b'+' | b'-')) {
        return None;
    }
    let n = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    let num = atoi(&v[1..1 + n]).ok()?;
    match n {
        1 | 2 if num <= 24 => Some(1 + n),
        4 if num / 100 <= 24 && num % 100 < 60 => Some(5),
        _ => None,
    }
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
    let fields = |zone: Zone| {
        let f = [p.year, month, day, p.hour, p.min, p.sec, p.nsec].map(i128::from);
        Time::date(f, zone).map_err(Finish::Range)
    };
    if p.utc {
        return fields(Zone::utc());
    }
    let abbrev = p
        .abbrev
        .as_ref()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    if let Some(off) = p.offset {
        let t = fields(Zone::utc())?.add(-i64::from(off) * 1_000_000_000);
        let t = t.map_err(Finish::Range)?;
        let o = loc.lookup(t.unix());
        if o.secs == off && abbrev.as_ref().is_none_or(|a| *a == o.abbrev) {
            return Ok(t.with_zone(loc.clone()));
        }
        return Ok(t.with_zone(Zone::fixed(abbrev.as_deref().unwrap_or(""), off)));
    }
    if let Some(name) = abbrev {
        let t = fields(Zone::utc())?;
        if let Some(off) = offset_named(loc, &name, t.unix()) {
            let t = t
                .add(-i64::from(off) * 1_000_000_000)
                .map_err(Finish::Range)?;
            return Ok(t.with_zone(loc.clone()));
        }
        let hours = match name.strip_prefix("GMT") {
            Some(h) if !h.is_empty() => atoi(h.as_bytes()).unwrap_or(0),
            _ => 0,
        };
        return Ok(t.with_zone(Zone::fixed(&name, (hours * 3600) as i32)));
    }
    fields(loc.clone())
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
