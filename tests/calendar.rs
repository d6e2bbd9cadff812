//! The local zone end to end (SPEC §9.2): `TZ` chooses it on the real clock, a seeded run
//! (SPEC §7) is UTC whatever `TZ` says, and zone data never comes from the machine.

use std::process::Command;

fn local_zone(tz: Option<&str>, seeded: bool) -> String {
    let app = format!("{}/tests/fixtures/local_zone", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_moonhost"));
    cmd.arg("run");
    if seeded {
        cmd.args(["--seed", "1"]);
    }
    cmd.args([app.as_str(), "zone:main"]);
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    let out = cmd.output().expect("run moonhost");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim_end()
        .to_string()
}

#[test]
fn tz_names_the_local_zone_on_the_real_clock() {
    assert_eq!(
        local_zone(Some("Asia/Tokyo"), false),
        "Asia/Tokyo\t+0900 JST\tAsia/Tokyo"
    );
    assert_eq!(
        local_zone(Some(":America/New_York"), false),
        "America/New_York\t-0500 EST\tAmerica/New_York"
    );
    assert_eq!(local_zone(Some(""), false), "UTC\t+0000 UTC\tUTC");
    assert_eq!(local_zone(Some("UTC"), false), "UTC\t+0000 UTC\tUTC");
    assert_eq!(local_zone(Some("Not/AZone"), false), "UTC\t+0000 UTC\tUTC");
    // Exact names only, as in load_location.
    assert_eq!(local_zone(Some("asia/tokyo"), false), "UTC\t+0000 UTC\tUTC");
}

#[test]
fn unset_tz_is_the_system_zone_named_local() {
    let line = local_zone(None, false);
    let name = line.split('\t').next().expect("a name");
    assert!(name == "Local" || name == "UTC", "{line}");
}

#[test]
fn a_seeded_run_is_utc_whatever_tz_says() {
    for tz in [Some("Asia/Tokyo"), Some("America/New_York"), None] {
        assert_eq!(local_zone(tz, true), "UTC\t+0000 UTC\tUTC");
    }
}
