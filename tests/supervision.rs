//! The supervision-tree example (`examples/supervision`, SPEC §12.1) end to end: its output
//! shows a crash, the restart under the same registered name, intensity exceeded and the
//! escalation, and under `--seed` it is byte-identical in every run (backoff jitter included).

mod util;

use util::moonhost;

fn example(args: &[&str]) -> util::Run {
    let app = format!("{}/examples/supervision", env!("CARGO_MANIFEST_DIR"));
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[app.as_str(), "game:main"]);
    let r = moonhost(&all);
    assert_eq!(r.code, Some(0), "{}", r.show());
    r
}

#[test]
fn the_example_shows_crash_restart_give_up_and_escalation() {
    let r = example(&[]);
    let out = &r.stdout;
    for want in [
        "[top] child.exit lobby",
        "under the same name: true",
        "action=give_up error=flaky worker crashed on purpose",
        "[pool] supervisor.exit error=reached max restart intensity",
        "[top] child.exit pool",
        "[top] child.start pool",
        "tree stopped",
    ] {
        assert!(out.contains(want), "missing {want:?}\n{}", r.show());
    }
}

#[test]
fn the_example_repeats_byte_for_byte_under_a_seed() {
    let a = example(&["--seed", "3"]);
    let b = example(&["--seed", "3"]);
    assert_eq!(a.stdout, b.stdout);
    assert!(a.stdout.contains("delay="), "{}", a.show());
    let c = example(&["--seed", "4"]);
    let delays = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("[pool] child.exit flaky") && l.contains("restart"))
            .map(String::from)
            .collect()
    };
    assert_ne!(
        delays(&a.stdout),
        delays(&c.stdout),
        "jitter follows the seed"
    );
}
