//! Embedding moonhost in a Rust program: load an app, register a host module, spawn an
//! entry as the root process and run until it ends.
//!
//! Run with `cargo run --example embed`.

use moonhost::{App, Exit, Payload, RunOutcome, Runtime};
use std::fs;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An app is a folder of _index.yaml manifests and Lua files; write a tiny one.
    let dir = std::env::temp_dir().join("moonhost-embed-example");
    fs::create_dir_all(&dir)?;
    fs::write(
        dir.join("_index.yaml"),
        "namespace: demo\nentries:\n  - name: main\n    kind: process.lua\n    \
         source: file://main.lua\n    method: main\n  - name: doubler\n    \
         kind: process.lua\n    source: file://doubler.lua\n    method: main\n",
    )?;
    fs::write(
        dir.join("doubler.lua"),
        "local function main()\n  local msg = process.inbox():receive()\n  \
         process.send(msg:from(), \"doubled\", msg:payload():data() * 2)\nend\n\
         return { main = main }\n",
    )?;
    fs::write(
        dir.join("main.lua"),
        "local host = require(\"host\")\nlocal function main(n)\n  \
         local pid = process.spawn(\"demo:doubler\", \"app:processes\")\n  \
         process.send(pid, \"work\", tonumber(n))\n  \
         local v = process.listen(\"doubled\"):receive()\n  \
         print(host.greeting .. \": \" .. v)\n  return v\nend\nreturn { main = main }\n",
    )?;

    let app = App::load(&dir)?;
    let mut rt = Runtime::builder().build(&app)?;
    // A module the host provides: `require("host")` returns this table in every process.
    let module = rt.lua().create_table()?;
    module.set("greeting", "doubled by a moonhost process")?;
    rt.register_module("host", mlua::Value::Table(module))?;

    match rt.run_entry("demo:main", &["21".to_string()])? {
        RunOutcome::Exited(root) => match root.exit {
            Exit::Normal(Payload::Int(v)) => println!("root returned {v}"),
            Exit::Normal(other) => println!("root returned {other:?}"),
            Exit::Error(e) => println!("root failed: {e}"),
        },
        other => println!("root did not finish: {other:?}"),
    }
    Ok(())
}
