//! Go-syntax durations: parsing (`"1m30s"`, `"1.5h"`, `"100ms"`) and formatting
//! (`1h30m45s`), with Go's error messages. Plain Rust, used by the `time` module.

/// Nanoseconds per unit, by suffix.
const UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration string into nanoseconds.
///
/// # Errors
/// `time: invalid duration "<s>"`, `time: missing unit in duration "<s>"` or
/// `time: unknown unit "<u>" in duration "<s>"`.
pub fn parse(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration \"{s}\"");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{s}\""));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!("time: unknown unit \"{unit}\" in duration \"{s}\""));
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // 18 digits are below a nanosecond for every unit and keep f * scale in i128.
            let digits = &frac_part[..frac_part.len().min(18)];
            let f: i128 = digits.parse().map_err(|_| invalid())?;
            let denom = 10i128.pow(digits.len() as u32);
            v += f * scale / denom;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i64::MAX as i128 + 1 {
            return Err(invalid());
        }
    }
    let total = if neg { -total } else { total };
    i64::try_from(total).map_err(|_| invalid())
}

/// Formats nanoseconds the way Go's `Duration.String` does.
pub fn format(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (body, unit) = if u < 1_000 {
            (u.to_string(), "ns")
        } else if u < 1_000_000 {
            (frac(u, 3), "\u{b5}s")
        } else {
            (frac(u, 6), "ms")
        };
        out.push_str(&body);
        out.push_str(unit);
    } else {
        let secs = frac(u, 9);
        let total_s = u / 1_000_000_000;
        let s_int = total_s % 60;
        let mins = total_s / 60;
        let sec_str = match secs.find('.') {
            Some(i) => format!("{s_int}{}", &secs[i..]),
            None => s_int.to_string(),
        };
        if mins > 0 {
            let h = mins / 60;
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            out.push_str(&format!("{}m", mins % 60));
        }
        out.push_str(&sec_str);
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / 10^prec` with the fraction printed without trailing zeros.
fn frac(v: u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let (int, mut f) = (v / p, v % p);
    if f == 0 {
        return int.to_string();
    }
    let mut digits = prec;
    while f % 10 == 0 {
        f /= 10;
        digits -= 1;
    }
    format!("{int}.{f:0width$}", width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        assert_eq!(parse("100ms"), Ok(100_000_000));
        assert_eq!(parse("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-2s"), Ok(-2_000_000_000));
        assert_eq!(parse("1µs"), Ok(1_000));
        assert_eq!(parse("3ns"), Ok(3));
        assert_eq!(parse(".5s"), Ok(500_000_000));
    }

    #[test]
    fn rejects_with_go_messages() {
        assert_eq!(parse("x"), Err("time: invalid duration \"x\"".into()));
        assert_eq!(parse(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(
            parse("10"),
            Err("time: missing unit in duration \"10\"".into())
        );
        assert_eq!(
            parse("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".into())
        );
        assert!(parse("99999999999999999999h").is_err());
        assert!(parse(".s").is_err());
        assert_eq!(
            parse("0.99999999999999999999999999h"),
            Ok(3_599_999_999_999)
        );
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(5_445_000_000_000), "1h30m45s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(100_000_000), "100ms");
        assert_eq!(format(1_500), "1.5\u{b5}s");
        assert_eq!(format(3_600_000_000_000), "1h0m0s");
        assert_eq!(format(-60_000_000_000), "-1m0s");
        assert_eq!(format(12), "12ns");
    }
}
