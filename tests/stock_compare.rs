//! Stock Lua programs behave the same inside a process as on plain Lua 5.4 (issue 15): each
//! program under `tests/fixtures/stock/` runs once in a plain mlua state (all standard
//! libraries, no runtime) and then as a process at instruction slices of 100, 1,000 and the
//! default; what it prints must be identical every time.

use moonhost::mlua::{Lua, LuaOptions, MultiValue, StdLib};
use moonhost::{App, RunOutcome, Runtime};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// The programs compared, as files of `tests/fixtures/stock/`.
const PROGRAMS: &[&str] = &[
    "libraries",
    "load_modes",
    "coroutines",
    "busy",
    "cstack",
    "tracebacks",
];

/// Output both sides write to.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

fn source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stock")
        .join(format!("{name}.lua"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What `src` prints on plain Lua (chunk name `=prog`), with `print` as stock Lua's, and
/// `debug` when the program uses it (processes have `debug.traceback`).
fn plain(src: &str) -> String {
    let lua = if src.contains("debug.") {
        // SAFETY: the debug library is loaded for `debug.traceback`; the programs are this
        // crate's own fixtures, which use nothing else of it.
        unsafe { Lua::unsafe_new_with(StdLib::ALL_SAFE | StdLib::DEBUG, LuaOptions::default()) }
    } else {
        Lua::new()
    };
    let out = Sink::default();
    let sink = out.clone();
    let print = lua
        .create_function(move |lua, args: MultiValue| {
            let tostring: moonhost::mlua::Function = lua.globals().get("tostring")?;
            let mut parts = Vec::new();
            for v in args {
                parts.push(tostring.call::<String>(v)?);
            }
            let mut s = sink.0.borrow_mut();
            s.extend_from_slice(parts.join("\t").as_bytes());
            s.push(b'\n');
            Ok(())
        })
        .expect("print");
    lua.globals().set("print", print).expect("set print");
    lua.load(src)
        .set_name("=prog")
        .exec()
        .expect("program runs on plain Lua");
    out.text()
}

/// A folder with one process entry that loads `src` as chunk `=prog` and runs it.
fn app_dir(name: &str, src: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moonhost-stock-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create app dir");
    let manifest = "namespace: r\nentries:\n  - name: root\n    kind: process.lua\n    source: file://root.lua\n";
    let root = format!(
        "local SRC = [=======[\n{src}]=======]\nreturn {{ main = function() assert(load(SRC, \"=prog\"))() return true end }}\n"
    );
    std::fs::write(dir.join("_index.yaml"), manifest).expect("write manifest");
    std::fs::write(dir.join("root.lua"), root).expect("write root");
    dir
}

/// What `src` prints inside a process at instruction slice `slice` (None: the default).
fn in_process(name: &str, src: &str, slice: Option<u32>) -> String {
    let app = App::load(app_dir(name, src)).expect("app loads");
    let out = Sink::default();
    let mut builder = Runtime::builder().output(out.clone());
    if let Some(n) = slice {
        builder = builder.instruction_slice(n);
    }
    let mut rt = builder.build(&app).expect("runtime builds");
    rt.spawn_root("r:root", &[]).expect("root spawns");
    let end = rt.run(Some(Duration::from_secs(20))).expect("run");
    assert!(
        matches!(end, RunOutcome::Exited(_)),
        "{name} at slice {slice:?} did not end: {end:?}\n{}",
        out.text()
    );
    out.text()
}

#[test]
fn stock_programs_print_the_same_inside_a_process() {
    for name in PROGRAMS {
        let src = source(name);
        let want = plain(&src);
        assert!(!want.is_empty(), "{name} prints nothing on plain Lua");
        for slice in [Some(100), Some(1000), None] {
            let got = in_process(name, &src, slice);
            assert_eq!(
                got, want,
                "{name} at slice {slice:?}: process output differs from stock Lua"
            );
        }
    }
}

/// A preemption yield resets Lua's own C-call count; the raw C `pcall` and `xpcall` keep
/// their own (src/ffi/protect.rs), so recursion through them stops at `C stack overflow` at
/// every slice, as on stock Lua.
#[test]
fn c_stack_overflow_is_reached_under_preemption() {
    let src = "local function loop() assert(pcall(loop)) end\nprint(pcall(xpcall, loop, loop))\n";
    let want = plain(src);
    for slice in [Some(100), Some(1000), None] {
        // Its own folder name: `stock_programs_print_the_same_inside_a_process` runs the
        // "cstack" program file in parallel, and one shared folder raced.
        let got = in_process("cstack_under_preemption", src, slice);
        assert_eq!(got, want, "slice {slice:?}");
    }
}
