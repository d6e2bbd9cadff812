//! Go's reference layouts (SPEC §9.5): the tokenizer (Go's `nextStdChunk`, on ASCII bytes;
//! every other byte is literal) and formatting. Parsing, which shares the tokenizer, is in
//! `parse.rs`. Reference time: Mon Jan 2 15:04:05 MST 2006, zone -0700.

use super::civil::{MONTHS, WEEKDAYS};
use super::{Fields, Time};

/// One layout token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// `January`
    LongMonth,
    /// `Jan`
    Month,
    /// `1`
    NumMonth,
    /// `01`
    ZeroMonth,
    /// `Monday`
    LongWeekDay,
    /// `Mon`
    WeekDay,
    /// `2`
    Day,
    /// `_2`
    UnderDay,
    /// `02`
    ZeroDay,
    /// `__2`
    UnderYearDay,
    /// `002`
    ZeroYearDay,
    /// `15`
    Hour,
    /// `3`
    Hour12,
    /// `03`
    ZeroHour12,
    /// `4`
    Minute,
    /// `04`
    ZeroMinute,
    /// `5`
    Second,
    /// `05`
    ZeroSecond,
    /// `2006`
    LongYear,
    /// `06`
    Year,
    /// `PM`
    Pm,
    /// `pm`
    LowerPm,
    /// `MST`
    Tz,
    /// A numeric offset; `z`: the `Z07…` forms (print `Z` at offset 0).
    Offset {
        /// `Z` variant.
        z: bool,
        /// How the offset is written.
        shape: Shape,
    },
    /// `.000…` (`nines` false) or `.999…`, with `digits` digits and separator `sep`.
    Frac {
        /// The layout had nines (trailing zeros trimmed, optional when parsing).
        nines: bool,
        /// Number of digits in the layout.
        digits: usize,
        /// `.` or `,`.
        sep: u8,
    },
}

/// The numeric shapes of an offset token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `-07`
    Hours,
    /// `-0700`
    HoursMinutes,
    /// `-07:00`
    ColonMinutes,
    /// `-070000`
    Seconds,
    /// `-07:00:00`
    ColonSeconds,
}

const OFFSETS: [(&[u8], Shape); 5] = [
    (b"070000", Shape::Seconds),
    (b"07:00:00", Shape::ColonSeconds),
    (b"0700", Shape::HoursMinutes),
    (b"07:00", Shape::ColonMinutes),
    (b"07", Shape::Hours),
];

/// Splits `layout` at its first token: (literal prefix, token, rest). `None` when the
/// whole layout is literal.
pub fn next_token(layout: &[u8]) -> (&[u8], Option<(Token, &[u8])>) {
    for i in 0..layout.len() {
        if let Some((tok, len)) = token_at(&layout[i..]) {
            // `_2006` is a literal `_` and then the year.
            let (i, len) = if len == 0 { (i + 1, 4) } else { (i, len) };
            return (&layout[..i], Some((tok, &layout[i + len..])));
        }
    }
    (layout, None)
}

/// The token starting `s` and its length; length 0 marks `_2006` (literal `_` first).
fn token_at(s: &[u8]) -> Option<(Token, usize)> {
    use Token::*;
    let has = |p: &[u8]| s.starts_with(p);
    let lower_after = |n: usize| s.get(n).is_some_and(u8::is_ascii_lowercase);
    Some(match s[0] {
        b'J' if has(b"January") => (LongMonth, 7),
        b'J' if has(b"Jan") && !lower_after(3) => (Month, 3),
        b'M' if has(b"Monday") => (LongWeekDay, 6),
        b'M' if has(b"Mon") && !lower_after(3) => (WeekDay, 3),
        b'M' if has(b"MST") => (Tz, 3),
        b'0' if s.len() >= 2 && (b'1'..=b'6').contains(&s[1]) => {
            let t = [ZeroMonth, ZeroDay, ZeroHour12, ZeroMinute, ZeroSecond, Year];
            (t[usize::from(s[1] - b'1')], 2)
        }
        b'0' if has(b"002") => (ZeroYearDay, 3),
        b'1' if has(b"15") => (Hour, 2),
        b'1' => (NumMonth, 1),
        b'2' if has(b"2006") => (LongYear, 4),
        b'2' => (Day, 1),
        b'_' if has(b"_2006") => (LongYear, 0),
        b'_' if has(b"_2") => (UnderDay, 2),
        b'_' if has(b"__2") => (UnderYearDay, 3),
        b'3' => (Hour12, 1),
        b'4' => (Minute, 1),
        b'5' => (Second, 1),
        b'P' if has(b"PM") => (Pm, 2),
        b'p' if has(b"pm") => (LowerPm, 2),
        b'-' | b'Z' => {
            let (pat, shape) = OFFSETS.iter().find(|(p, _)| s[1..].starts_with(p))?;
            let z = s[0] == b'Z';
            (Offset { z, shape: *shape }, 1 + pat.len())
        }
        b'.' | b',' => return frac_token(s),
        _ => return None,
    })
}

/// A separator and a run of `0`s or `9`s that no digit follows.
fn frac_token(s: &[u8]) -> Option<(Token, usize)> {
    let c = *s.get(1).filter(|c| matches!(c, b'0' | b'9'))?;
    let run = s[1..].iter().take_while(|&&d| d == c).count();
    if s.get(1 + run).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tok = Token::Frac {
        nines: c == b'9',
        digits: run,
        sep: s[0],
    };
    Some((tok, 1 + run))
}

/// `x` in decimal, zero-padded to `width` digits after a `-` for negatives (Go's
/// `appendInt`).
pub fn push_int(out: &mut Vec<u8>, x: i64, width: usize) {
    if x < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(format!("{:0width$}", x.unsigned_abs()).as_bytes());
}

/// `t` written in `layout`. Never fails: anything that is not a token is literal.
pub fn format(t: &Time, layout: &[u8]) -> Vec<u8> {
    let f = t.fields();
    let mut out = Vec::with_capacity(layout.len() + 10);
    let mut rest = layout;
    loop {
        let (lit, tok) = next_token(rest);
        out.extend_from_slice(lit);
        let Some((tok, after)) = tok else {
            return out;
        };
        push_token(&mut out, tok, &f);
        rest = after;
    }
}

fn push_token(out: &mut Vec<u8>, tok: Token, f: &Fields) {
    use Token::*;
    match tok {
        LongMonth => out.extend_from_slice(MONTHS[f.month as usize - 1].as_bytes()),
        Month => out.extend_from_slice(&MONTHS[f.month as usize - 1].as_bytes()[..3]),
        NumMonth => push_int(out, f.month.into(), 0),
        ZeroMonth => push_int(out, f.month.into(), 2),
        LongWeekDay => out.extend_from_slice(WEEKDAYS[f.weekday as usize].as_bytes()),
        WeekDay => out.extend_from_slice(&WEEKDAYS[f.weekday as usize].as_bytes()[..3]),
        Day => push_int(out, f.day.into(), 0),
        UnderDay => {
            if f.day < 10 {
                out.push(b' ');
            }
            push_int(out, f.day.into(), 0);
        }
        ZeroDay => push_int(out, f.day.into(), 2),
        UnderYearDay => {
            let pad = if f.yday < 10 {
                2
            } else {
                usize::from(f.yday < 100)
            };
            out.extend(std::iter::repeat_n(b' ', pad));
            push_int(out, f.yday.into(), 0);
        }
        ZeroYearDay => push_int(out, f.yday.into(), 3),
        LongYear => push_int(out, f.year, 4),
        Year => push_int(out, f.year % 100, 2),
        _ => push_clock(out, tok, f),
    }
}

/// The clock, AM/PM, zone and fraction tokens.
fn push_clock(out: &mut Vec<u8>, tok: Token, f: &Fields) {
    use Token::*;
    let h12 = match f.hour % 12 {
        0 => 12,
        h => h,
    };
    match tok {
        Hour => push_int(out, f.hour.into(), 2),
        Hour12 => push_int(out, h12.into(), 0),
        ZeroHour12 => push_int(out, h12.into(), 2),
        Minute => push_int(out, f.min.into(), 0),
        ZeroMinute => push_int(out, f.min.into(), 2),
        Second => push_int(out, f.sec.into(), 0),
        ZeroSecond => push_int(out, f.sec.into(), 2),
        Pm => out.extend_from_slice(if f.hour >= 12 { b"PM" } else { b"AM" }),
        LowerPm => out.extend_from_slice(if f.hour >= 12 { b"pm" } else { b"am" }),
        Tz if !f.offset.abbrev.is_empty() => out.extend_from_slice(f.offset.abbrev.as_bytes()),
        Tz => push_offset(out, f.offset.secs, false, Shape::HoursMinutes),
        Offset { z, shape } => push_offset(out, f.offset.secs, z, shape),
        Frac { nines, digits, sep } => push_frac(out, f.nsec, nines, digits, sep),
        // Date tokens never reach here: push_token writes them.
        _ => {}
    }
}

fn push_offset(out: &mut Vec<u8>, offset: i32, z: bool, shape: Shape) {
    if z && offset == 0 {
        out.push(b'Z');
        return;
    }
    // Go divides toward zero: -00:00:30 prints as +00:00 (with seconds -30 shown as 30).
    let mut zone = offset / 60;
    let mut abs = offset;
    if zone < 0 {
        out.push(b'-');
        zone = -zone;
        abs = -abs;
    } else {
        out.push(b'+');
    }
    push_int(out, (zone / 60).into(), 2);
    if matches!(shape, Shape::ColonMinutes | Shape::ColonSeconds) {
        out.push(b':');
    }
    if shape != Shape::Hours {
        push_int(out, (zone % 60).into(), 2);
    }
    if matches!(shape, Shape::Seconds | Shape::ColonSeconds) {
        if shape == Shape::ColonSeconds {
            out.push(b':');
        }
        push_int(out, (abs % 60).into(), 2);
    }
}

fn push_frac(out: &mut Vec<u8>, nsec: u32, nines: bool, digits: usize, sep: u8) {
    if nines && (digits == 0 || nsec == 0) {
        return;
    }
    let all = format!("{nsec:09}");
    let mut frac = &all.as_bytes()[..digits.min(9)];
    if nines {
        while let [rest @ .., b'0'] = frac {
            frac = rest;
        }
        if frac.is_empty() {
            return;
        }
    }
    out.push(sep);
    out.extend_from_slice(frac);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Zone;

    fn fmt(fields: [i128; 7], zone: Zone, layout: &str) -> String {
        let t = Time::date(fields, zone).expect("in range");
        String::from_utf8(format(&t, layout.as_bytes())).expect("ascii")
    }

    #[test]
    fn reference_layouts() {
        let ny = Zone::load("America/New_York").expect("bundled");
        let t = [2024, 1, 1, 0, 0, 0, 5];
        assert_eq!(
            fmt(t, ny.clone(), "2006-01-02 15:04:05.999999999 -0700 MST"),
            "2024-01-01 00:00:00.000000005 -0500 EST"
        );
        assert_eq!(
            fmt(
                [2024, 7, 4, 15, 4, 5, 0],
                ny,
                "Mon Jan _2 3:04PM 2006 Z07:00"
            ),
            "Thu Jul  4 3:04PM 2024 -04:00"
        );
        let utc = || Zone::utc();
        assert_eq!(
            fmt([2024, 2, 9, 0, 0, 0, 0], utc(), "Z07:00 002 __2 _2"),
            "Z 040  40  9"
        );
        assert_eq!(fmt([-5, 1, 1, 0, 0, 0, 0], utc(), "2006 06"), "-0005 -05");
        assert_eq!(
            fmt(
                [2024, 1, 1, 12, 0, 0, 120_000_000],
                utc(),
                "05.000 .999 ,99"
            ),
            "00.120 .12 ,12"
        );
        assert_eq!(
            fmt([2024, 1, 1, 0, 0, 0, 0], utc(), "3 03 pm .999"),
            "12 12 am "
        );
        assert_eq!(
            fmt([2024, 1, 1, 0, 0, 0, 0], utc(), "Janet Month _2006"),
            "Janet Month _2024"
        );
        assert_eq!(
            fmt(
                [2024, 1, 1, 0, 0, 0, 0],
                Zone::fixed("", 5 * 3600 + 1800),
                "MST"
            ),
            "+0530"
        );
    }

    #[test]
    fn early_years_use_local_mean_time() {
        let ny = Zone::load("America/New_York").expect("bundled");
        assert_eq!(
            fmt([1800, 1, 1, 0, 0, 0, 0], ny, "-0700 MST -07:00:00"),
            "-0456 LMT -04:56:02"
        );
    }
}
