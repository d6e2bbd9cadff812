//! `manifest_parse`: any bytes, read as the text of an `_index.yaml`, must give `Ok` or an
//! `Err` — never a panic, a hang or an unbounded allocation.
//!
//! The file is placed at `fuzz/_index.yaml`, so `source: file://x.lua` names `fuzz/x.lua`
//! (relative to the directory the fuzzer runs in); a missing source file is just an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut app = moonhost::App::default();
    if app.add_file(Path::new("fuzz/_index.yaml"), &text).is_ok() {
        // Touch what a loaded manifest hands to the rest of the runtime.
        for e in &app.entries {
            let _ = (e.is_test(), e.meta_str("suite"), e.meta_num("order"));
            assert!(e.id.contains(':'), "entry id without namespace: {:?}", e.id);
        }
    }
});
