//! `duration_parse`: `duration::parse` never panics on any string; every value it accepts
//! formats (Go's `Duration.String`) to a string that parses back to the same value; and
//! every `i64` formats to a string that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moonhost::lua::duration::{format, parse};

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes (if any) also form a raw i64 for the format -> parse direction.
    if let Some(raw) = data.get(..8) {
        let n = i64::from_le_bytes(raw.try_into().expect("8 bytes"));
        let s = format(n);
        assert_eq!(parse(&s), Ok(n), "format({n}) = {s:?} does not parse back");
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = parse(s) {
        let f = format(n);
        assert_eq!(parse(&f), Ok(n), "parse({s:?}) = {n}, format = {f:?}");
    }
});
