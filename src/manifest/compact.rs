//! The compact forms: one entry per Lua file, expanded at load into one entry per function of
//! the table the file returns.
//!
//! ```yaml
//! - name: link              # test.lifecycle:link:<function> for each function of link.lua
//!   kind: test.suite
//!   source: file://link.lua # ends with `return M`; defines `function M.<test>(...)`
//!   imports: {assert: test:assert, helpers: test:helpers}
//!   meta: {suite: lifecycle, skip: {slow_case: "reason"}}
//! - name: workers           # test.lifecycle:workers:<function>, spawnable processes
//!   kind: process.set
//!   source: file://workers.lua
//! ```
//!
//! A `test.suite` entry stands for one `function.lua` test per function, a `process.set` entry
//! for one `process.lua` entry per function. Each expanded entry is `<entry id>:<function>`
//! (for example `test.lifecycle:link:trap_turns_link_down_into_an_event`) with
//! `method: <function>` and the compact entry's source, imports and modules; a test also gets
//! its `meta` with `type: test`. A test suite's `meta.skip` that is `true` or a string skips
//! every test of the file; a map skips the functions it names. The expanded entries sit in
//! source order right after the compact entry, which the runner uses to run a file's tests in
//! the order they are written. The compact entry itself stays (with no source) so its id is
//! taken; it cannot be spawned.
//!
//! The functions are found by reading the source, not by running it: a manifest load never
//! executes Lua (the chunk's top level needs the process environment, which exists only inside
//! a runtime, and `moonhost check` must not run code), and a table's keys come back in hash
//! order while the text gives the order a reader sees. The rule is the one the project's suites
//! follow: the last statement of the file is `return <Name>`, and each function is a line that
//! starts (after indentation) with `function <Name>.<fn>(` or `<Name>.<fn> = function`. Lines
//! inside `--[[ ]]` comments are ignored. A function the scan lists but the chunk does not
//! return fails that entry when it runs, so a scan mistake shows instead of hiding a test.

use super::{Entry, EntryKind, MetaValue};
use crate::error::{Error, Result};

/// The `kind` of a compact test entry: one test per function.
pub const SUITE_KIND: &str = "test.suite";

/// The `kind` of a compact process entry: one `process.lua` entry per function.
pub const PROCESS_SET_KIND: &str = "process.set";

/// Whether `kind` names a compact form.
pub fn is_compact(kind: &str) -> bool {
    kind == SUITE_KIND || kind == PROCESS_SET_KIND
}

/// A function found in a compact entry's file: its name and 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFn {
    /// The function's key in the returned table.
    pub name: String,
    /// The line that defines it.
    pub line: usize,
}

/// The functions of a compact entry's file, in source order.
///
/// # Errors
/// A description of what the file lacks (no `return <Name>` at the end, no functions, a
/// function defined twice); the caller adds the entry and path.
pub fn scan(text: &str) -> std::result::Result<Vec<TestFn>, String> {
    let lines = code_lines(text);
    let table = returned_name(&lines).ok_or_else(|| {
        "does not end with `return <Name>` (the file must return the table of its \
         functions)"
            .to_string()
    })?;
    let mut found: Vec<TestFn> = Vec::new();
    for &(n, line) in &lines {
        let Some(name) = defined_name(line, table) else {
            continue;
        };
        if let Some(first) = found.iter().find(|f| f.name == name) {
            return Err(format!(
                "defines {name} twice (lines {} and {n}); the second one hides the first",
                first.line
            ));
        }
        found.push(TestFn {
            name: name.to_string(),
            line: n,
        });
    }
    if found.is_empty() {
        return Err(format!(
            "returns {table} but defines no function in it (write `function \
             {table}.<name>()` at the start of a line)"
        ));
    }
    Ok(found)
}

/// The entries a compact entry stands for: the entry itself (kept with its compact kind and
/// no source, so its id stays taken) followed by one entry per function.
///
/// # Errors
/// [`Error::Manifest`] naming the entry, its manifest line and the source path when the file
/// does not return a table of functions, or a `meta.skip` map names a function it lacks.
pub fn expand(mut compact: Entry) -> Result<Vec<Entry>> {
    let is_suite = compact.kind == EntryKind::Other(SUITE_KIND.into());
    let source = compact.source.take().ok_or_else(|| {
        Error::Manifest(format!(
            "{}: entry {}: no source",
            compact.origin, compact.id
        ))
    })?;
    let fns = scan(&source.text).map_err(|what| {
        Error::Manifest(format!(
            "{}: field `source`: entry {}: {} {what}",
            compact.origin, compact.id, source.chunk_name
        ))
    })?;
    // The compact entry itself is not a test, whatever its meta says.
    compact.meta.remove("type");
    if let Some(MetaValue::Map(per_test)) = compact.meta.get("skip")
        && let Some(name) = per_test.keys().find(|k| !fns.iter().any(|f| &f.name == *k))
    {
        return Err(Error::Manifest(format!(
            "{}: field `meta.skip`: entry {}: names {name}, which {} does not define",
            compact.origin, compact.id, source.chunk_name
        )));
    }

    let mut out = Vec::with_capacity(fns.len() + 1);
    for f in &fns {
        let mut meta = compact.meta.clone();
        if is_suite {
            meta.insert("type".into(), MetaValue::Str("test".into()));
            if let Some(MetaValue::Map(per_test)) = compact.meta.get("skip") {
                match per_test.get(&f.name) {
                    Some(v) => meta.insert("skip".into(), v.clone()),
                    None => meta.remove("skip"),
                };
            }
        }
        out.push(Entry {
            id: format!("{}:{}", compact.id, f.name),
            kind: if is_suite {
                EntryKind::Function
            } else {
                EntryKind::Process
            },
            source: Some(source.clone()),
            method: Some(f.name.clone()),
            modules: compact.modules.clone(),
            imports: compact.imports.clone(),
            meta,
            limits: compact.limits.clone(),
            origin: format!("{} ({}:{})", compact.origin, source.chunk_name, f.line),
            expanded_from: Some(compact.id.clone()),
            policy: None,
        });
    }
    out.insert(0, compact);
    Ok(out)
}

/// `(line number, text)` of every line outside `--[[ ]]` / `--[==[ ]==]` comments.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut closing: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(close) = &closing {
            if line.contains(close.as_str()) {
                closing = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--[") {
            let eqs = rest.len() - rest.trim_start_matches('=').len();
            if rest[eqs..].starts_with('[') {
                let close = format!("]{}]", "=".repeat(eqs));
                if !rest[eqs + 1..].contains(close.as_str()) {
                    closing = Some(close);
                }
                continue;
            }
        }
        out.push((i + 1, line));
    }
    out
}

/// `Name` of a final `return Name` (the last line that is not blank or a comment).
fn returned_name<'a>(lines: &[(usize, &'a str)]) -> Option<&'a str> {
    let last = lines
        .iter()
        .map(|(_, l)| strip_comment(l).trim())
        .rfind(|l| !l.is_empty())?;
    let name = last
        .strip_prefix("return")?
        .trim()
        .trim_end_matches(';')
        .trim();
    is_ident(name).then_some(name)
}

/// The test name a line defines on `table`: `function T.name(` or `T.name = function`.
fn defined_name<'a>(line: &'a str, table: &str) -> Option<&'a str> {
    let l = line.trim_start();
    if let Some(rest) = l.strip_prefix("function") {
        let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
        let rest = rest.strip_prefix(table)?.trim_start().strip_prefix('.')?;
        let (name, after) = split_ident(rest.trim_start());
        return after.trim_start().starts_with('(').then_some(name);
    }
    let rest = l.strip_prefix(table)?.trim_start().strip_prefix('.')?;
    let (name, after) = split_ident(rest.trim_start());
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let after = after.strip_prefix("function")?;
    (after.is_empty() || after.starts_with(|c: char| c == '(' || c.is_whitespace()))
        .then_some(name)
        .filter(|n| !n.is_empty())
}

fn split_ident(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

fn is_ident(s: &str) -> bool {
    let (name, rest) = split_ident(s);
    !name.is_empty() && rest.is_empty()
}

fn strip_comment(line: &str) -> &str {
    line.find("--").map_or(line, |i| &line[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::App;
    use std::path::PathBuf;

    /// A fresh folder holding `files`.
    fn app_dir(tag: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moonhost-suite-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        dir
    }

    const SUITE_YAML: &str = "namespace: t.demo\nentries:\n  - name: lib\n    kind: library.lua\n    \
        source: file://lib.lua\n  - name: cases\n    kind: test.suite\n    source: file://cases.lua\n    \
        imports: {lib: t.demo:lib}\n    meta: {suite: demo, order: 2, skip: {beta: not yet}}\n";

    const SUITE_LUA: &str = "local M = {}\nfunction M.gamma() return true end\n\
        function M.beta() return true end\nfunction M.alpha() return true end\nreturn M\n";

    #[test]
    fn a_suite_entry_becomes_one_test_per_function() {
        let dir = app_dir(
            "expand",
            &[
                ("_index.yaml", SUITE_YAML),
                ("cases.lua", SUITE_LUA),
                ("lib.lua", "return {}\n"),
            ],
        );
        let app = App::load(&dir).expect("loads");
        let tests: Vec<&Entry> = app.entries.iter().filter(|e| e.is_test()).collect();
        let ids: Vec<&str> = tests.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "t.demo:cases:gamma",
                "t.demo:cases:beta",
                "t.demo:cases:alpha"
            ]
        );
        for t in &tests {
            assert_eq!(t.kind, EntryKind::Function);
            assert_eq!(t.id.rsplit(':').next(), t.method.as_deref());
            assert_eq!(t.imports.get("lib").map(String::as_str), Some("t.demo:lib"));
            assert_eq!(t.meta_str("suite"), Some("demo"));
            assert_eq!(t.meta_num("order"), Some(2.0));
            assert_eq!(t.expanded_from.as_deref(), Some("t.demo:cases"));
            assert!(t.origin.contains("cases.lua:"), "{}", t.origin);
        }
        assert_eq!(tests[1].meta_str("skip"), Some("not yet"));
        assert!(!tests[0].meta.contains_key("skip"));
        let suite = app.entry("t.demo:cases").expect("suite entry kept");
        assert!(!suite.is_test() && suite.source.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_process_set_becomes_one_spawnable_process_entry_per_function() {
        let dir = app_dir(
            "set",
            &[
                (
                    "_index.yaml",
                    "namespace: t\nentries:\n  - name: workers\n    kind: process.set\n    \
                  source: file://w.lua\n    meta: {type: test}\n",
                ),
                (
                    "w.lua",
                    "local W = {}\nfunction W.echo() end\nW.sleeper = function() end\nreturn W\n",
                ),
            ],
        );
        let app = App::load(&dir).expect("loads");
        let ids: Vec<_> = app
            .entries
            .iter()
            .map(|e| (e.id.as_str(), e.kind.clone()))
            .collect();
        assert_eq!(
            ids[..3],
            [
                ("t:workers", EntryKind::Other(PROCESS_SET_KIND.into())),
                ("t:workers:echo", EntryKind::Process),
                ("t:workers:sleeper", EntryKind::Process)
            ]
        );
        assert!(app.entries.iter().all(|e| !e.is_test()));
        assert_eq!(app.entries[2].method.as_deref(), Some("sleeper"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_suite_that_returns_no_table_of_functions_fails_the_load_naming_the_entry() {
        let dir = app_dir(
            "bad",
            &[
                (
                    "_index.yaml",
                    "namespace: t\nentries:\n  - name: s\n    kind: test.suite\n    \
                  source: file://s.lua\n",
                ),
                ("s.lua", "return function() end\n"),
            ],
        );
        let msg = App::load(&dir).expect_err("no table").to_string();
        assert!(msg.contains("_index.yaml:3"), "{msg}");
        assert!(msg.contains("entry t:s"), "{msg}");
        assert!(
            msg.contains("s.lua does not end with `return <Name>`"),
            "{msg}"
        );
        std::fs::write(
            dir.join("_index.yaml"),
            "namespace: t\nentries:\n  - name: s\n    kind: test.suite\n    \
             source: file://s.lua\n    method: main\n",
        )
        .expect("write");
        let msg = App::load(&dir).expect_err("method").to_string();
        assert!(
            msg.contains("field `method`") && msg.contains("entry t:s"),
            "{msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_skip_map_naming_an_unknown_function_fails_the_load() {
        let dir = app_dir(
            "skip",
            &[
                (
                    "_index.yaml",
                    "namespace: t\nentries:\n  - name: s\n    kind: test.suite\n    \
                  source: file://s.lua\n    meta: {skip: {nope: why}}\n",
                ),
                ("s.lua", "local M = {}\nfunction M.yes() end\nreturn M\n"),
            ],
        );
        let msg = App::load(&dir).expect_err("unknown skip").to_string();
        assert!(
            msg.contains("names nope") && msg.contains("entry t:s"),
            "{msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn functions_come_in_source_order() {
        let text = "local M = {}\nfunction M.zeta()\nend\n  function M.alpha ()\nend\n\
                    M.mid = function() end\nlocal function helper() end\nfunction other.x() end\n\
                    return M\n";
        let names: Vec<_> = scan(text)
            .expect("scan")
            .into_iter()
            .map(|f| (f.name, f.line))
            .collect();
        assert_eq!(
            names,
            [("zeta".into(), 2), ("alpha".into(), 4), ("mid".into(), 6)]
        );
    }

    #[test]
    fn block_comments_and_trailing_comments_are_skipped() {
        let text = "local T = {}\n--[[\nfunction T.hidden() end\n]]\n--[==[ one line ]==]\n\
                    function T.shown() end\nreturn T -- the tests\n\n-- end\n";
        let names: Vec<_> = scan(text)
            .expect("scan")
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["shown"]);
    }

    #[test]
    fn a_file_that_does_not_return_a_table_name_is_refused() {
        let err = scan("function main() end\nreturn { main = main }\n").expect_err("table");
        assert!(err.contains("return <Name>"), "{err}");
        let err = scan("local M = {}\nreturn M\n").expect_err("empty");
        assert!(err.contains("defines no function"), "{err}");
        let err = scan("local M = {}\nfunction M.a() end\nfunction M.a() end\nreturn M\n")
            .expect_err("twice");
        assert!(err.contains("defines a twice (lines 2 and 3)"), "{err}");
    }
}
