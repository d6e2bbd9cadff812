//! JUnit XML for `moonhost test --format junit` (SPEC §14.7): one `testsuite` per suite in
//! run order (suite-less tests last, as `(none)`), one `testcase` per test.

use crate::manifest::Entry;
use crate::testcase::{TestOptions, Verdict};
use std::io::Write;

/// One selected test and its verdict (`None`: skipped).
type Row<'a> = (&'a Entry, Option<Verdict>);

/// Writes the XML for `results` (a skipped test has no verdict).
///
/// # Errors
/// When writing fails.
pub fn write(out: &mut dyn Write, opts: &TestOptions, results: &[Row<'_>]) -> std::io::Result<()> {
    let mut suites: Vec<(String, Vec<&Row<'_>>)> = Vec::new();
    for r in results {
        let name = r.0.meta_str("suite").unwrap_or("(none)").to_string();
        match suites.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(r),
            None => suites.push((name, vec![r])),
        }
    }
    let all: Vec<&Row<'_>> = results.iter().collect();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="moonhost" {}>"#, counts(&all))?;
    if let Some(seed) = opts.seed.or(opts.explore.map(|_| 1)) {
        write!(out, "  <properties>")?;
        write!(out, r#"<property name="seed" value="{seed}"/>"#)?;
        write!(
            out,
            r#"<property name="strategy" value="{}"/>"#,
            opts.strategy
        )?;
        if !opts.faults.is_empty() {
            write!(
                out,
                r#"<property name="faults" value="{}"/>"#,
                esc(&opts.faults.to_string())
            )?;
        }
        if let Some(k) = opts.explore {
            write!(out, r#"<property name="explore" value="{k}"/>"#)?;
        }
        writeln!(out, "</properties>")?;
    }
    for (name, tests) in &suites {
        writeln!(
            out,
            r#"  <testsuite name="{}" {}>"#,
            esc(name),
            counts(tests)
        )?;
        for (e, v) in tests.iter().map(|r| (r.0, &r.1)) {
            let time = v.as_ref().map_or(0.0, |v| v.elapsed.as_secs_f64());
            let open = format!(
                r#"    <testcase classname="{}" name="{}" time="{time:.3}""#,
                esc(name),
                esc(&e.id)
            );
            match v {
                None => writeln!(out, "{open}><skipped/></testcase>")?,
                Some(v) if v.passed => writeln!(out, "{open}/>")?,
                Some(v) => {
                    let msg = v.message.as_deref().unwrap_or("failed");
                    let mut body = msg.to_string();
                    if let Some(tb) = &v.traceback {
                        body.push('\n');
                        body.push_str(tb);
                    }
                    writeln!(out, "{open}>")?;
                    writeln!(
                        out,
                        r#"      <failure type="failure" message="{}">{}</failure>"#,
                        esc(msg.lines().next().unwrap_or("")),
                        esc(&body)
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

fn counts(tests: &[&Row<'_>]) -> String {
    let n = tests.len();
    let failures = tests
        .iter()
        .filter(|r| r.1.as_ref().is_some_and(|v| !v.passed))
        .count();
    let skipped = tests.iter().filter(|r| r.1.is_none()).count();
    let time: f64 = tests
        .iter()
        .filter_map(|r| r.1.as_ref())
        .map(|v| v.elapsed.as_secs_f64())
        .sum();
    format!(r#"tests="{n}" failures="{failures}" errors="0" skipped="{skipped}" time="{time:.3}""#)
}

/// XML-escapes `s`; characters XML 1.0 forbids become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_replaces_forbidden_characters() {
        assert_eq!(
            esc("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{fffd}"
        );
    }
}
