//! Runs every Lua test under `lua/tests/` (one libtest-style trial per test), each in a fresh
//! runtime, the way `moonhost test lua/tests` does. The tests are the ones the runner selects:
//! Wippy-format test entries and every function of each `test.suite` entry (ids
//! `<suite entry id>:<function>`). Arguments that do not start with `-` filter by substring of
//! the test id, like `cargo test <filter>`; `--list` prints the ids.

use moonhost::App;
use moonhost::testrun::{self, TestOptions};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::Instant;

#[derive(Clone, Default)]
struct Captured(Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .cloned()
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/lua/tests");
    let app = App::load(dir)
        .and_then(|a| moonhost::runtime::check_syntax(&a).map(|()| a))
        .unwrap_or_else(|e| panic!("lua/tests does not load: {e}"));
    let opts = TestOptions {
        filters: filters.clone(),
        ..TestOptions::default()
    };
    let tests = testrun::select(&app, &filters);
    if args.iter().any(|a| a == "--list") {
        for t in &tests {
            println!("{}: test", t.id);
        }
        println!("\n{} tests, 0 benchmarks", tests.len());
        return;
    }
    let total = app.entries.iter().filter(|e| e.is_test()).count();
    println!("\nrunning {} tests", tests.len());
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut skipped = 0;
    for t in &tests {
        if let Some(reason) = testrun::skip_reason(t) {
            println!("test {} ... ignored, {reason}", t.id);
            skipped += 1;
            continue;
        }
        let out = Captured::default();
        let v = testrun::run_one(&app, t, &opts, Box::new(out.clone()));
        if v.passed {
            println!("test {} ... ok", v.id);
        } else {
            println!("test {} ... FAILED", v.id);
            let printed = String::from_utf8_lossy(&out.0.borrow()).into_owned();
            failures.push((v, printed));
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (v, printed) in &failures {
            println!("---- {} ----", v.id);
            if !printed.is_empty() {
                println!("{printed}");
            }
            println!("{}", v.message.as_deref().unwrap_or("failed"));
            if let Some(tb) = &v.traceback {
                println!("{tb}");
            }
            println!();
        }
    }
    let failed = failures.len();
    println!(
        "\ntest result: {}. {} passed; {} failed; {} ignored; 0 measured; {} filtered out; \
         finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        tests.len() - failed - skipped,
        failed,
        skipped,
        total - tests.len(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(101);
    }
}
