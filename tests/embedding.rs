//! The Rust embedding API of SPEC §13, driven as a game or tool would drive it.

mod util;

use moonhost::{App, CrashReport, Delivery, Error, Payload, Pid, Runtime, Step};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

const HOST: &str = "app:processes";
const FRAME: Duration = Duration::from_micros(16_667);

fn app() -> App {
    App::load(util::fixture("embed")).expect("fixture loads")
}

fn manual() -> Runtime {
    Runtime::builder()
        .manual_clock()
        .build(&app())
        .expect("builds")
}

/// Runs frames of `budget` until nothing is runnable (at most 1,000).
fn settle(rt: &mut Runtime) {
    for _ in 0..1_000 {
        if let Step::Idle { .. } = rt.run_for(Duration::from_millis(5)).expect("runs") {
            return;
        }
    }
    panic!("the runtime never became idle");
}

fn messages(m: &moonhost::Mailbox) -> Vec<(String, Payload)> {
    std::iter::from_fn(|| m.try_recv())
        .map(|d| match d {
            Delivery::Message { topic, payload, .. } => (topic, payload),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

#[test]
fn host_to_lua_and_back_keeps_order() {
    let mut rt = manual();
    let game = rt.mailbox("game").unwrap();
    let echo = rt.spawn("embed:echo", HOST, vec![]).unwrap();
    for i in 1..=100 {
        rt.send_from(&game, &echo.to_string(), "ping", Payload::from(i as i64))
            .unwrap();
    }
    settle(&mut rt);
    let got = messages(&game);
    assert_eq!(got.len(), 100);
    for (i, (topic, payload)) in got.iter().enumerate() {
        assert_eq!(topic, "echo");
        assert_eq!(*payload, Payload::Int(i as i64 + 1));
    }
}

#[test]
fn lua_to_host_keeps_order_and_names_the_sender() {
    let mut rt = manual();
    let sink = rt.mailbox("sink").unwrap();
    let pid = rt
        .spawn("embed:burst", HOST, vec!["sink".into(), Payload::Int(50)])
        .unwrap();
    settle(&mut rt);
    let mut n = 0;
    while let Some(d) = sink.try_recv() {
        n += 1;
        match d {
            Delivery::Message {
                from,
                topic,
                payload,
            } => {
                assert_eq!(from.as_ref(), Some(&pid));
                assert_eq!(topic, "n");
                assert_eq!(payload, Payload::Int(n));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(n, 50);
    // Scripts reach the mailbox by its PID too, and a host send has no sender.
    assert_eq!(sink.pid().host(), "host");
    rt.send(&sink.pid().to_string(), "direct", Payload::from("hi"))
        .unwrap();
    match sink.try_recv() {
        Some(Delivery::Message { from, payload, .. }) => {
            assert_eq!(from, None);
            assert_eq!(payload.to_string(), "\"hi\"");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn monitored_process_exit_reaches_the_mailbox() {
    let mut rt = manual();
    let game = rt.mailbox("game").unwrap();
    let answer = rt.spawn("embed:answer", HOST, vec![]).unwrap();
    let crasher = rt.spawn("embed:crasher", HOST, vec![]).unwrap();
    rt.monitor(&game, &answer).unwrap();
    rt.monitor(&game, &crasher).unwrap();
    let again = rt.monitor(&game, &answer).unwrap_err();
    assert_eq!(again.to_string(), "already monitoring pid");
    settle(&mut rt);
    let mut exits = Vec::new();
    while let Some(d) = game.try_recv() {
        match d {
            Delivery::Exit { from, result } => exits.push((from, result)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(exits.len(), 2, "{exits:?}");
    assert_eq!(exits[0], (answer.clone(), Ok(Payload::Int(42))));
    assert_eq!(exits[1].0, crasher);
    let err = exits[1].1.clone().unwrap_err();
    assert!(err.contains("procs.lua:41:"), "{err}");
    let ended = rt.monitor(&game, &answer).unwrap_err();
    assert_eq!(ended.to_string(), "pid not registered");
}

#[test]
fn manual_clock_wakes_a_100ms_sleep_on_the_sixth_frame() {
    let mut rt = manual();
    let game = rt.mailbox("game").unwrap();
    rt.spawn("embed:sleeper", HOST, vec![]).unwrap();
    settle(&mut rt);
    for frame in 1..=16 {
        rt.advance_clock(FRAME).unwrap();
        rt.run_for(Duration::from_millis(2)).unwrap();
        let got = messages(&game);
        if frame < 6 {
            assert!(got.is_empty(), "woke early, on frame {frame}");
        } else if frame == 6 {
            assert_eq!(got.len(), 1, "must wake on frame 6");
            assert_eq!(got[0].0, "woke");
            assert_eq!(got[0].1, Payload::Int(100));
            return;
        }
    }
    panic!("never woke");
}

#[test]
fn idle_reports_the_next_timer_and_the_clock_does_not_jump() {
    let mut rt = manual();
    rt.spawn("embed:sleeper", HOST, vec![]).unwrap();
    // A loaded machine may need more than one frame to get the sleeper parked.
    let mut step = rt.run_for(Duration::from_millis(5)).unwrap();
    for _ in 0..100 {
        if !matches!(step, Step::Busy) {
            break;
        }
        step = rt.run_for(Duration::from_millis(5)).unwrap();
    }
    match step {
        Step::Idle { next_timer } => assert_eq!(next_timer, Some(Duration::from_millis(100))),
        other => panic!("{other:?}"),
    }
    // Idle frames leave the manual clock where it is.
    for _ in 0..3 {
        rt.run_for(Duration::from_millis(1)).unwrap();
    }
    assert_eq!(rt.next_deadline(), Some(Duration::from_millis(100)));
    rt.advance_clock(Duration::from_millis(40)).unwrap();
    assert_eq!(rt.next_deadline(), Some(Duration::from_millis(60)));
}

#[test]
fn busy_next_to_a_spinner_and_others_still_get_turns() {
    let mut rt = manual();
    let game = rt.mailbox("game").unwrap();
    rt.spawn("embed:spinner", HOST, vec![]).unwrap();
    rt.spawn("embed:counter", HOST, vec![]).unwrap();
    for _ in 0..5 {
        match rt.run_for(Duration::from_millis(2)).unwrap() {
            Step::Busy => {}
            other => panic!("expected Busy next to a spinner, got {other:?}"),
        }
    }
    let ticks = messages(&game);
    assert!(
        ticks.len() >= 5,
        "the counter ran only {} times",
        ticks.len()
    );
}

#[test]
fn host_modules_are_read_only_to_scripts() {
    let mut rt = manual();
    let engine = rt.lua().create_table().unwrap();
    engine.set("speed", 3).unwrap();
    rt.register_module("engine", moonhost::mlua::Value::Table(engine.clone()))
        .unwrap();
    let game = rt.mailbox("game").unwrap();
    rt.spawn("embed:engine_user", HOST, vec![]).unwrap();
    settle(&mut rt);
    let got = messages(&game);
    assert_eq!(got.len(), 1);
    let shown = got[0].1.to_string();
    assert!(shown.contains("ok = false"), "{shown}");
    assert!(
        shown.contains("attempt to modify read-only table 'engine' (field 'x')"),
        "{shown}"
    );
    assert!(shown.contains("speed = 3"), "{shown}");
    assert_eq!(engine.get::<Option<String>>("x").unwrap(), None);
}

#[test]
fn crash_hook_gets_pid_entry_and_file_line() {
    let reports: Rc<RefCell<Vec<CrashReport>>> = Rc::default();
    let seen = reports.clone();
    let mut rt = Runtime::builder()
        .manual_clock()
        .on_crash(move |r| seen.borrow_mut().push(r.clone()))
        .build(&app())
        .unwrap();
    let pid = rt.spawn("embed:crasher", HOST, vec![]).unwrap();
    rt.spawn("embed:answer", HOST, vec![]).unwrap();
    settle(&mut rt);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "only the crash is reported: {reports:?}");
    let r = &reports[0];
    assert_eq!(r.pid, pid);
    assert_eq!(r.entry, "embed:crasher");
    assert_eq!(r.host, HOST);
    assert!(
        r.error.contains("attempt to index a nil value"),
        "{}",
        r.error
    );
    let tb = r.traceback.as_deref().unwrap_or("");
    assert!(tb.contains("procs.lua:41"), "{tb}");
    assert!(
        r.to_string()
            .starts_with(&format!("process {pid} (embed:crasher) failed: "))
    );
}

#[test]
fn pid_round_trips_through_display_and_from_str() {
    let mut rt = manual();
    let pid = rt.spawn("embed:answer", HOST, vec![]).unwrap();
    let text = pid.to_string();
    assert!(text.starts_with("{app:processes|"), "{text}");
    assert_eq!(text.parse::<Pid>().unwrap(), pid);
    assert!("app:processes|1".parse::<Pid>().is_err());
}

#[test]
fn errors_name_what_is_wrong() {
    let mut rt = manual();
    let e = rt.spawn("embed:mian", HOST, vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "entry not found: embed:mian (did you mean embed:main?)"
    );
    let e = rt.spawn("embed:lib", HOST, vec![]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "embed:lib is a library.lua entry, not a process"
    );
    let e = rt.spawn("embed:main", "app:worker", vec![]).unwrap_err();
    assert_eq!(e.to_string(), "host not found: app:worker");
    // Host mailboxes live on no spawnable host.
    rt.mailbox("game").unwrap();
    let e = rt.spawn("embed:main", "host", vec![]).unwrap_err();
    assert_eq!(e.to_string(), "host not found: host");
    let e = rt.mailbox("game").unwrap_err();
    assert_eq!(e.to_string(), "name already registered: game");
    let e = rt.send("nobody", "t", Payload::Nil).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not resolve 'nobody' as PID or registered name"
    );
    let mut real = Runtime::builder().build(&app()).unwrap();
    let e = real.advance_clock(FRAME).unwrap_err();
    assert!(matches!(e, Error::Clock(_)), "{e:?}");
}

#[test]
fn a_closed_or_dropped_mailbox_stops_receiving() {
    let mut rt = manual();
    let game = rt.mailbox("game").unwrap();
    let pid = game.pid().to_string();
    rt.close_mailbox(&game);
    let e = rt.send(&pid, "t", Payload::Nil).unwrap_err();
    assert_eq!(e.to_string(), "process not found");
    assert!(rt.send("game", "t", Payload::Nil).is_err());
    // Dropping every handle frees the name at the next frame.
    let other = rt.mailbox("other").unwrap();
    drop(other);
    rt.run_for(Duration::from_millis(1)).unwrap();
    assert!(rt.send("other", "t", Payload::Nil).is_err());
    rt.mailbox("other").expect("the name is free again");
}
