//! The field readers of parsing: one function per kind of token, each taking its bytes
//! off the front of the value (Go's `getnum`, `atoi`, `lookup`, `parseTimeZone`...).

use crate::calendar::civil::{MONTHS, WEEKDAYS};
use crate::calendar::layout::{Shape, Token, next_token};

/// A token or field that did not match (Go's `errBad`).
pub(super) struct Bad;

/// What the fields of a value said, before the zone is applied.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) year: i64,
    pub(super) month: Option<i64>,
    pub(super) day: Option<i64>,
    pub(super) yday: Option<i64>,
    pub(super) hour: i64,
    pub(super) min: i64,
    pub(super) sec: i64,
    pub(super) nsec: i64,
    pub(super) am: bool,
    pub(super) pm: bool,
    /// `Z` or `UTC` was read.
    pub(super) utc: bool,
    pub(super) offset: Option<i32>,
    pub(super) abbrev: Option<Vec<u8>>,
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
pub(super) fn atoi(s: &[u8]) -> Result<i64, Bad> {
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
pub(super) fn field(
    p: &mut Parsed,
    tok: Token,
    v: &mut &[u8],
    rest_layout: &[u8],
    range: &mut Option<&'static str>,
) -> Result<(), Bad> {
    use Token::*;
    match tok {
        Year | LongYear | Month | LongMonth | NumMonth | ZeroMonth | WeekDay | LongWeekDay
        | Day | UnderDay | ZeroDay | UnderYearDay | ZeroYearDay => date_field(p, tok, v, range),
        Hour | Hour12 | ZeroHour12 | Minute | ZeroMinute | Pm | LowerPm => {
            clock_field(p, tok, v, range)
        }
        Second | ZeroSecond => second(p, v, rest_layout, range, tok == ZeroSecond),
        Offset { z: true, .. } if v.first() == Some(&b'Z') => {
            *v = &v[1..];
            p.utc = true;
            Ok(())
        }
        Offset { shape, .. } => {
            p.offset = Some(offset(v, shape, range)?);
            Ok(())
        }
        Tz => zone_name(p, v),
        Frac { nines, digits, .. } => fraction(p, v, nines, digits, range),
    }
}

/// Year, month, weekday, day and day-of-year tokens.
fn date_field(
    p: &mut Parsed,
    tok: Token,
    v: &mut &[u8],
    range: &mut Option<&'static str>,
) -> Result<(), Bad> {
    use Token::*;
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
            if !(1..=12).contains(&m) {
                *range = Some("month");
            }
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
        _ => {
            for _ in 0..2 {
                if tok == UnderYearDay && v.first() == Some(&b' ') {
                    *v = &v[1..];
                }
            }
            p.yday = Some(getnum3(v, tok == ZeroYearDay)?);
        }
    }
    Ok(())
}

/// Hour, minute and AM/PM tokens.
fn clock_field(
    p: &mut Parsed,
    tok: Token,
    v: &mut &[u8],
    range: &mut Option<&'static str>,
) -> Result<(), Bad> {
    use Token::*;
    let (max, what) = match tok {
        Hour => (23, "hour"),
        Hour12 | ZeroHour12 => (12, "hour"),
        Minute | ZeroMinute => (59, "minute"),
        _ => return am_pm(p, tok, v),
    };
    let r = getnum(v, matches!(tok, ZeroHour12 | ZeroMinute));
    // Go checks the range even of a failed read (its value is then 0).
    if !(0..=max).contains(r.as_ref().unwrap_or(&0)) {
        *range = Some(what);
    }
    let n = r?;
    if what == "hour" {
        p.hour = n;
    } else {
        p.min = n;
    }
    Ok(())
}

fn am_pm(p: &mut Parsed, tok: Token, v: &mut &[u8]) -> Result<(), Bad> {
    let s = take(v, 2)?;
    let (am, pm): (&[u8], &[u8]) = if tok == Token::Pm {
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
    Ok(())
}

/// `.000…` needs exactly its digits; `.999…` is optional and takes any number of them.
fn fraction(
    p: &mut Parsed,
    v: &mut &[u8],
    nines: bool,
    digits: usize,
    range: &mut Option<&'static str>,
) -> Result<(), Bad> {
    let n = if nines {
        if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
            return Ok(());
        }
        1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count()
    } else {
        1 + digits
    };
    if v.len() < n {
        return Err(Bad);
    }
    p.nsec = nanoseconds(&v[..n], range)?;
    *v = &v[n..];
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
