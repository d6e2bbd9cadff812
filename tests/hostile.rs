//! Hostile scripts (issue 11) where Lua cannot observe the fix: messages waiting in the
//! mailboxes of many idle processes count against the runtime's memory ceiling.

mod util;

use moonhost::{Exit, RunOutcome, Runtime};
use std::time::Duration;

/// The root spawns 20 idle children and sends each 1 MiB messages in turn until one is
/// refused (or 100 MiB went out), and checks that the refusal came at half the ceiling.
const ROOT: &str = r#"
local M = {}
function M.idle() process.listen("never"):receive() end
function M.main()
  local kids = {}
  for i = 1, 20 do kids[i] = process.spawn("r:idle", "app:processes") end
  local mib = string.rep("m", 1 << 20)
  for n = 0, 99 do
    local ok, err = process.send(kids[n % 20 + 1], "data", mib)
    if not ok then
      -- 32 MiB of waiting messages is half the ceiling
      if err ~= "mailbox full" or n < 28 or n > 32 then error(n .. " MiB, then " .. tostring(err)) end
      return n
    end
  end
  error("100 MiB went out unrefused")
end
return M
"#;

#[test]
fn mailboxes_of_idle_processes_stay_under_half_the_runtime_ceiling() {
    let (app, _) = util::root_idle_app("hostile", ROOT);
    let mut rt = Runtime::builder()
        .memory_ceiling(64 << 20)
        .build(&app)
        .expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let out = rt.run(Some(Duration::from_secs(10))).expect("run");
    let RunOutcome::Exited(e) = out else {
        panic!("the root did not end: {out:?}");
    };
    assert!(
        matches!(e.exit, Exit::Normal(_)),
        "the root failed: {:?}",
        e.exit
    );
}
