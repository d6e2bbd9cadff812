//! Every Lua-visible function listed by the API surface tripwire (`lua/tests/api/surface.lua`)
//! has a LuaLS stub in `lua/types/` (a `function a.b(` / `function A:b(` line, an `a.b = `
//! assignment or a `---@field b` under `---@class a`), so editor support cannot silently fall
//! behind the API. Names of the standard Lua 5.4 library (LuaLS ships those) are skipped.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

const SURFACE: &str = "lua/tests/api/surface.lua";
const STUBS_DIR: &str = "lua/types";
/// One stub file per built-in module.
const MODULE_FILES: [&str; 7] = [
    "process.lua",
    "channel.lua",
    "time.lua",
    "uuid.lua",
    "ctx.lua",
    "security.lua",
    "sim.lua",
];

/// Standard Lua 5.4 names per library: LuaLS describes them already.
const STANDARD: [(&str, &str); 3] = [
    (
        "coroutine",
        "close create isyieldable resume running status wrap yield",
    ),
    (
        "string",
        "byte char dump find format gmatch gsub len lower match pack packsize rep reverse sub \
         unpack upper",
    ),
    ("table", "concat insert move pack remove sort unpack"),
];

/// Objects the surface test makes to list methods of, by the call that makes them.
const CONSTRUCTORS: [(&str, &str); 7] = [
    ("channel.new", "Channel"),
    ("time.now", "Time"),
    ("time.date", "Time"),
    ("process.with_context", "Spawner"),
    ("security.new_actor", "Actor"),
    ("security.new_scope", "Scope"),
    ("security.policy", "Policy"),
];

/// The names surface.lua expects, as `owner.name` (`process.send`, `Channel.receive`).
fn surface_names(src: &str) -> Vec<String> {
    let aliases = require_aliases(src);
    let objects = constructed_objects(src);
    let resolve = |path: &str| -> String {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        let head = aliases.get(head).map(String::as_str).unwrap_or(head);
        if rest.is_empty() {
            head.to_string()
        } else {
            format!("{head}.{rest}")
        }
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(off) = src[at..].find("assert.eq(") {
        let start = at + off + "assert.eq(".len();
        let args = split_args(&src[start..]);
        at = start;
        let subject = args.first().map(|s| s.trim()).unwrap_or("");
        let owner = if let Some(inner) = strip_call(subject, "keys") {
            match strip_call(inner, "require") {
                Some(m) => unquote(m).to_string(),
                None => resolve(inner),
            }
        } else if subject.starts_with("table.concat(") {
            // `for k, v in pairs(M) do ... fns[#fns + 1] = k end` just before.
            let before = &src[..start];
            let p = before
                .rfind("in pairs(")
                .expect("a table.concat list comes from a pairs loop");
            let name = &before[p + "in pairs(".len()..];
            resolve(&name[..name.find(')').expect("pairs(...) closes")])
        } else if subject.starts_with("tostring(") {
            // A value check (`assert.eq(tostring(time.utc), "UTC")`), not a list of names.
            continue;
        } else if subject.starts_with("type(") {
            // A method loop (`for _, m in ipairs({...}) do assert.eq(type(ch[m]), ...)`),
            // read by `method_loops` below.
            continue;
        } else {
            panic!(
                "{SURFACE}: tests/stubs.rs cannot read the assertion `assert.eq({subject}, ...`; \
                 teach it the new form"
            );
        };
        let names = args.get(1).map(|s| concat_literals(s)).unwrap_or_default();
        out.extend(names.split_whitespace().map(|n| format!("{owner}.{n}")));
    }
    out.extend(method_loops(src, &objects));
    let standard: HashMap<&str, Vec<&str>> = STANDARD
        .iter()
        .map(|(lib, names)| (*lib, names.split_whitespace().collect()))
        .collect();
    out.retain(|full| {
        let (owner, name) = full.rsplit_once('.').expect("owner.name");
        !standard.get(owner).is_some_and(|s| s.contains(&name))
    });
    out
}

/// `local x = require("m")` lines: alias -> module.
fn require_aliases(src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in src.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("local ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once('=') else {
            continue;
        };
        if let Some(m) = strip_call(value.trim(), "require") {
            out.insert(name.trim().to_string(), unquote(m).to_string());
        }
    }
    out
}

/// `local ch = channel.new(1)` lines: variable -> object type (through `CONSTRUCTORS`).
fn constructed_objects(src: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in src.lines() {
        let Some(rest) = line.trim().strip_prefix("local ") else {
            continue;
        };
        let Some((name, value)) = rest.split_once('=') else {
            continue;
        };
        for (call, class) in CONSTRUCTORS {
            if value.trim().starts_with(&format!("{call}(")) {
                out.insert(name.trim().to_string(), class.to_string());
            }
        }
    }
    out
}

/// `for _, m in ipairs({ "a", "b" }) do assert.eq(type(obj[m]), ...)`: `Class.a`, `Class.b`.
fn method_loops(src: &str, objects: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(off) = src[at..].find("in ipairs({") {
        let list_start = at + off + "in ipairs({".len();
        let list_end = list_start + src[list_start..].find('}').expect("list closes");
        at = list_end;
        let after = &src[list_end..];
        let Some(t) = after.find("type(") else {
            continue;
        };
        let obj = &after[t + "type(".len()..];
        let obj = &obj[..obj.find('[').expect("type(obj[m])")];
        let class = objects.get(obj.trim()).unwrap_or_else(|| {
            panic!("{SURFACE}: no constructor known for `{obj}`; add it to CONSTRUCTORS")
        });
        out.extend(
            src[list_start..list_end]
                .split(',')
                .map(|n| format!("{class}.{}", unquote(n))),
        );
    }
    out
}

/// The arguments of a call whose opening parenthesis was just consumed, up to its closing one.
fn split_args(s: &str) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0;
    let mut quote = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '{' | '[') => depth += 1,
            (None, ')' | '}' | ']') if depth == 0 => break,
            (None, ')' | '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut().expect("one argument at least").push(c);
    }
    args
}

/// `"a b " .. "c"` -> `a b c`.
fn concat_literals(s: &str) -> String {
    s.split("..")
        .map(|part| unquote(part.trim()))
        .collect::<Vec<_>>()
        .join("")
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| c == '"' || c == '\'')
}

/// `name(inner)` -> `inner`.
fn strip_call<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

/// Everything the stub files define, as `owner.name`.
fn stub_names(files: &[(String, String)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, text) in files {
        let mut class: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("---@class ") {
                class = rest.split_whitespace().next().map(str::to_string);
            } else if let Some(rest) = line.strip_prefix("---@field ") {
                let name = rest.split_whitespace().next().unwrap_or("");
                if let Some(c) = &class {
                    out.insert(format!("{c}.{}", name.trim_end_matches('?')));
                }
            } else if let Some(rest) = line.strip_prefix("function ") {
                let path = &rest[..rest.find('(').unwrap_or(rest.len())];
                out.insert(path.replace(':', "."));
            } else if !line.starts_with("--")
                && let Some((lhs, _)) = line.split_once('=')
            {
                let lhs = lhs.trim();
                if lhs.contains('.') && !lhs.contains(' ') {
                    out.insert(lhs.to_string());
                }
            }
        }
    }
    out
}

/// The surface names with no stub.
fn missing(surface: &[String], files: &[(String, String)]) -> Vec<String> {
    let defined = stub_names(files);
    surface
        .iter()
        .filter(|n| !defined.contains(*n))
        .cloned()
        .collect()
}

fn read_stubs() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(STUBS_DIR)
        .expect("lua/types exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "lua"))
        .map(|p| {
            let name = p.file_name().expect("file").to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).expect("readable stub"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_surface_function_has_a_stub() {
    let src = fs::read_to_string(SURFACE).expect("surface test exists");
    let surface = surface_names(&src);
    assert!(
        surface.len() > 30,
        "surface.lua lists more than this: {surface:?}"
    );
    let files = read_stubs();
    let missing = missing(&surface, &files);
    assert!(
        missing.is_empty(),
        "no stub in {STUBS_DIR}/ for: {}",
        missing.join(", ")
    );
}

#[test]
fn a_removed_stub_is_reported() {
    let src = fs::read_to_string(SURFACE).expect("surface test exists");
    let surface = surface_names(&src);
    let cut = |files: &[(String, String)], needle: &str| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(n, t)| {
                let kept: Vec<&str> = t.lines().filter(|l| !l.starts_with(needle)).collect();
                (n.clone(), kept.join("\n"))
            })
            .collect()
    };
    let files = read_stubs();
    for (needle, name) in [
        ("function process.send(", "process.send"),
        ("function Channel:case_receive(", "Channel.case_receive"),
        ("process.event.LINK_DOWN =", "process.event.LINK_DOWN"),
        ("function time.ticker(", "time.ticker"),
        ("function coroutine.spawn(", "coroutine.spawn"),
    ] {
        assert_eq!(
            missing(&surface, &cut(&files, needle)),
            vec![name.to_string()],
            "removing `{needle}`"
        );
    }
}

#[test]
fn each_module_has_a_meta_file() {
    for f in MODULE_FILES {
        let path = Path::new(STUBS_DIR).join(f);
        let text =
            fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} exists", path.display()));
        assert!(
            text.starts_with("---@meta"),
            "{} starts with ---@meta",
            path.display()
        );
    }
    for (name, text) in read_stubs() {
        assert!(text.starts_with("---@meta"), "{name} starts with ---@meta");
    }
}

#[test]
fn stubs_are_valid_lua() {
    let lua = moonhost::mlua::Lua::new();
    for (name, text) in read_stubs() {
        if let Err(e) = lua.load(text.as_str()).set_name(&name).into_function() {
            panic!("{STUBS_DIR}/{name} does not compile: {e}");
        }
    }
}
