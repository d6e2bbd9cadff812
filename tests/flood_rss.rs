//! Acceptance 3 of issue 11: in every flood (Lua heap, mailboxes, channel buffers, names,
//! CANCEL reasons, timers, channels, subscriptions) the peak RSS of the OS process stays
//! under the runtime's memory ceiling plus 10%. Each flood runs in a fresh child process
//! (this test binary again, with `MOONHOST_FLOOD` naming the flood), so its `VmHWM` is that
//! flood's alone; the per-process memory limit is set above the ceiling, so the ceiling is
//! what binds.

mod util;

use moonhost::{Exit, Limits, RunOutcome, Runtime};
use std::process::Command;
use std::time::Duration;

/// The runtime ceiling of every flood.
const CEILING: usize = 256 << 20;

/// Each flood: a loop that keeps what it makes until a call refuses (`nil, err`, which it
/// raises) or the process is ended for memory.
const FLOODS: &[(&str, &str)] = &[
    ("tables", "local t = {} for i = 1, 1e9 do t[i] = {} end"),
    ("one_slot_tables", "local t = {} for i = 1, 1e9 do t[i] = { i } end"),
    (
        "strings",
        "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end",
    ),
    (
        "mailboxes",
        "local kids = {}
         for i = 1, 40 do kids[i] = process.spawn('r:idle', 'app:processes') end
         local mib = string.rep('m', 1 << 20)
         for n = 0, 1e9 do
           local ok, err = process.send(kids[n % 40 + 1], 'data', mib)
           if not ok then error(err) end
         end",
    ),
    (
        "channel_buffers",
        "local c = channel.new(1 << 40)
         for i = 1, 1e9 do local ok, err = c:send(true) if not ok then error(err) end end",
    ),
    (
        "cancel_reasons",
        "for i = 1, 1e9 do
           local ok, err = process.cancel(process.pid(), string.rep('r', 16 << 10))
           if not ok then error(err) end
         end",
    ),
    (
        "names",
        "for i = 1, 1e9 do
           local ok, err = process.registry.register(string.rep('n', 1000) .. i)
           if not ok then error(err) end
         end",
    ),
    (
        "timers",
        "local t = {}
         for i = 1, 1e9 do local v, err = time.after('1000h') if not v then error(err) end t[i] = v end",
    ),
    (
        "tickers",
        "local t = {}
         for i = 1, 1e9 do local v, err = time.ticker('1h') if not v then error(err) end t[i] = v end",
    ),
    (
        "channels",
        "local t = {}
         for i = 1, 1e9 do local v, err = channel.new(1) if not v then error(err) end t[i] = v end",
    ),
    (
        "subscriptions",
        "local t = {}
         for i = 1, 1e9 do
           local v, err = process.listen(string.rep('t', 1000) .. i)
           if not v then error(err) end
           t[i] = v
         end",
    ),
];

/// In the child: runs flood `name` to its end and prints the peak RSS in bytes.
fn run_flood(name: &str) {
    let body = FLOODS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a known flood")
        .1;
    let root = format!(
        "local M = {{}}\nfunction M.idle() process.listen('never'):receive() end\n\
         function M.main()\n{body}\nend\nreturn M\n"
    );
    let (app, dir) = util::root_idle_app(&format!("flood-{name}"), &root);
    let mut rt = Runtime::builder()
        .limits(Limits {
            memory_bytes: 1 << 30,
            ..Limits::default()
        })
        .memory_ceiling(CEILING)
        .build(&app)
        .expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let out = rt.run(Some(Duration::from_secs(60))).expect("run");
    let RunOutcome::Exited(e) = out else {
        panic!("{name}: the flood did not end: {out:?}");
    };
    let Exit::Error(err) = e.exit else {
        panic!("{name}: the flood ended without an error: {:?}", e.exit);
    };
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    let _ = std::fs::remove_dir_all(&dir);
    println!("FLOOD {name} {} {err}", kib * 1024);
}

#[test]
fn peak_rss_stays_under_the_ceiling_in_every_flood() {
    if let Ok(name) = std::env::var("MOONHOST_FLOOD") {
        run_flood(&name);
        return;
    }
    let me = std::env::current_exe().expect("test binary");
    let bound = CEILING + CEILING / 10;
    let mut over = Vec::new();
    for (name, _) in FLOODS {
        let out = Command::new(&me)
            .args([
                "--exact",
                "peak_rss_stays_under_the_ceiling_in_every_flood",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MOONHOST_FLOOD", name)
            .output()
            .expect("run the flood child");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.split_once("FLOOD ").map(|(_, rest)| rest))
            .unwrap_or_else(|| {
                panic!(
                    "{name}: the child reported nothing\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let mut parts = line.splitn(3, ' ');
        let (_, peak, err) = (parts.next(), parts.next(), parts.next());
        let peak: usize = peak.and_then(|p| p.parse().ok()).expect("peak bytes");
        eprintln!(
            "{name}: peak RSS {} MiB (bound {} MiB): {}",
            peak >> 20,
            bound >> 20,
            err.unwrap_or("")
        );
        if peak > bound {
            over.push(format!("{name}: {} MiB", peak >> 20));
        }
    }
    assert!(
        over.is_empty(),
        "peak RSS over the ceiling + 10% ({} MiB): {over:?}",
        bound >> 20
    );
}
