//! `Runtime::reload` and `process.upgrade` after it (SPEC §12.3.1), on an app written to a
//! temporary folder and edited while it runs.

use moonhost::{Delivery, Error, Payload, ReloadReport, Runtime, Step};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MANIFEST: &str = "namespace: app
entries:
  - name: util
    kind: library.lua
    source: file://util.lua
  - name: main
    kind: process.lua
    source: file://main.lua
    imports: {util: app:util}
  - name: other
    kind: process.lua
    source: file://other.lua
";

/// Reports its version and state to the host mailbox, then answers `pid.reload` by
/// upgrading with state + 1, `try` with the result of `process.upgrade("app:other")`, and
/// `spawn` by spawning `app:other`.
const MAIN: &str = r#"local util = require("util")
local M = {}
function M.main(state)
  state = state or 0
  process.send("host", "hello", { version = util.version, state = state })
  while true do
    local r = channel.select({ process.events():case_receive(), process.inbox():case_receive() })
    if r.channel == process.events() then
      local ev = r.value
      process.send("host", "event", { kind = ev.kind, from = ev.from, entry = ev.entry })
      process.upgrade(nil, state + 1)
    elseif r.value:topic() == "try" then
      local v, err = process.upgrade("app:other")
      process.send("host", "tried", err or tostring(v))
    else
      process.spawn("app:other", "app:processes")
    end
  end
end
return M
"#;

const OTHER: &str = r#"return { main = function() process.send("host", "other", "v1") end }
"#;

/// A fresh app folder holding `util.lua` with `version = v`.
fn app_dir(name: &str, v: i64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-reload-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    write(&dir, "_index.yaml", MANIFEST);
    write(&dir, "main.lua", MAIN);
    write(&dir, "other.lua", OTHER);
    write(&dir, "util.lua", &format!("return {{ version = {v} }}\n"));
    dir
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write source");
}

fn settle(rt: &mut Runtime) {
    for _ in 0..1_000 {
        if let Step::Idle { .. } = rt.run_for(Duration::from_millis(5)).expect("runs") {
            return;
        }
    }
    panic!("the runtime never became idle");
}

fn received(m: &moonhost::Mailbox) -> Vec<(String, String)> {
    std::iter::from_fn(|| m.try_recv())
        .map(|d| match d {
            Delivery::Message { topic, payload, .. } => (topic, payload.to_string()),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

fn started(dir: &Path) -> (Runtime, moonhost::Mailbox, String) {
    let mut rt = Runtime::load(dir).expect("app loads");
    let host = rt.mailbox("host").expect("mailbox");
    let root = rt.spawn_root("app:main", &[]).expect("spawns");
    settle(&mut rt);
    assert_eq!(
        received(&host),
        vec![("hello".into(), "{state = 0, version = 1}".into())]
    );
    (rt, host, root)
}

#[test]
fn reload_replaces_changed_code_and_tells_the_processes_running_it() {
    let dir = app_dir("changed", 1);
    let (mut rt, host, root) = started(&dir);
    assert_eq!(rt.reload().expect("reloads"), ReloadReport::default());
    write(&dir, "util.lua", "return { version = 2 }\n");
    let report = rt.reload().expect("reloads");
    assert_eq!(report.changed, vec!["app:util", "app:main"]);
    assert!(report.failed.is_empty(), "{report:?}");
    settle(&mut rt);
    assert_eq!(
        received(&host),
        vec![
            (
                "event".into(),
                r#"{entry = "app:main", from = "", kind = "pid.reload"}"#.into()
            ),
            ("hello".into(), "{state = 1, version = 2}".into()),
        ]
    );
    let info = rt.process_info(&root).expect("same process");
    assert_eq!(info.upgrades, 1);
    assert_eq!(info.entry, "app:main");
    // Nothing changed since: nothing is reported, nobody is told.
    assert_eq!(rt.reload().expect("reloads"), ReloadReport::default());
    settle(&mut rt);
    assert_eq!(received(&host), vec![]);
}

#[test]
fn a_source_that_does_not_compile_keeps_its_last_good_code_and_fails_upgrades() {
    let dir = app_dir("broken", 1);
    let (mut rt, host, root) = started(&dir);
    write(&dir, "other.lua", "return { main = function( }\n");
    let report = rt.reload().expect("reloads");
    assert!(report.changed.is_empty(), "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let (id, msg) = &report.failed[0];
    assert_eq!(id, "app:other");
    assert!(msg.starts_with("other.lua:1: "), "{msg}");
    rt.send(&root, "try", Payload::Nil).expect("sends");
    rt.send(&root, "spawn", Payload::Nil).expect("sends");
    settle(&mut rt);
    assert_eq!(
        received(&host),
        vec![
            (
                "tried".into(),
                format!("{:?}", format!("upgrade failed: {msg}"))
            ),
            ("other".into(), r#""v1""#.into()),
        ]
    );
    // Fixed: the entry is changed, and upgrades to it work again.
    write(&dir, "other.lua", OTHER.replace("v1", "v2").as_str());
    let report = rt.reload().expect("reloads");
    assert_eq!(report.changed, vec!["app:other"]);
    rt.send(&root, "spawn", Payload::Nil).expect("sends");
    rt.send(&root, "try", Payload::Nil).expect("sends");
    settle(&mut rt);
    assert_eq!(
        received(&host),
        vec![
            ("other".into(), r#""v2""#.into()),
            ("other".into(), r#""v2""#.into())
        ]
    );
    assert!(
        rt.process_info(&root).is_none(),
        "the root became app:other, which ended"
    );
}

#[test]
fn a_source_that_cannot_be_read_fails_the_reload_and_changes_nothing() {
    let dir = app_dir("unreadable", 1);
    let (mut rt, host, _root) = started(&dir);
    write(&dir, "util.lua", "return { version = 2 }\n");
    std::fs::remove_file(dir.join("other.lua")).expect("remove");
    let err = rt.reload().expect_err("other.lua is gone");
    assert!(
        matches!(&err, Error::Io(m) if m.contains("other.lua")),
        "{err:?}"
    );
    settle(&mut rt);
    assert_eq!(received(&host), vec![], "nobody is told");
    write(&dir, "other.lua", OTHER);
    let report = rt.reload().expect("reloads");
    assert_eq!(report.changed, vec!["app:util", "app:main"]);
}

#[test]
fn new_code_without_the_method_ends_the_upgraded_process_abnormally() {
    let dir = app_dir("no-method", 1);
    let (mut rt, _host, root) = started(&dir);
    write(&dir, "main.lua", "return { other = function() end }\n");
    assert_eq!(rt.reload().expect("reloads").changed, vec!["app:main"]);
    settle(&mut rt);
    assert!(rt.process_info(&root).is_none(), "the upgraded root failed");
}
