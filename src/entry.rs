//! The one table of an app's entries as a runtime needs them: id, kind, method, imports and
//! the compiled chunk (compiled on first use, once per runtime).

use crate::error::{Error, Result};
use crate::manifest::{App, EntryKind};
use crate::security::Policies;
use mlua::{Function, Lua, LuaOptions, StdLib};
use std::path::PathBuf;
use std::rc::Rc;

mod reload;

pub use reload::ReloadReport;

/// Modules `require` finds without an import.
pub const BUILTIN_MODULES: &[&str] = &[
    "time",
    "uuid",
    "process",
    "channel",
    "ctx",
    "security",
    "supervisor",
];

/// The entry id of built-in supervisor processes (SPEC §12.1): no `:`, so no manifest entry
/// can clash with it. The prelude runs `lua/supervisor.lua` for it instead of a chunk.
pub const SUPERVISOR_ENTRY: &str = "supervisor";

/// The method the supervisor entry hands the prelude: no manifest method can be it (a NUL
/// byte), so `proc_main` runs `lua/supervisor.lua` instead of the (empty) chunk.
pub const SUPERVISOR_METHOD: &str = "\0supervisor";

/// One entry of the app.
#[derive(Debug)]
pub struct EntryInfo {
    /// `namespace:name`.
    pub id: String,
    /// Whether `spawn` accepts it (`process.lua` or `function.lua`).
    pub spawnable: bool,
    /// The manifest's kind name (`process.lua`, `process.host`, …).
    pub kind: String,
    /// The function of the returned table a process runs (`main` when absent).
    pub method: Option<String>,
    /// `require` names and the entry index each one loads (`None`: the target is missing).
    pub imports: Vec<(String, Option<u32>)>,
    /// Chunk text and chunk name, when the entry has Lua source.
    source: Option<(Rc<str>, String)>,
    /// The compiled chunk and the method name as a Lua string, once compiled.
    chunk: Option<(Function, Option<mlua::LuaString>)>,
    /// The source file on disk and its text as last read (at load or reload).
    file: Option<(PathBuf, String)>,
    /// The compiler's message when the newest source failed to compile at a reload
    /// (spawns keep the last good code; `process.upgrade` to it fails).
    failed: Option<String>,
}

/// Every entry of the app, by index (the manifest's order).
#[derive(Debug, Default)]
pub struct Entries {
    list: Vec<EntryInfo>,
    /// The app's `security.policy` entries.
    policies: Policies,
}

impl Entries {
    /// The entries of `app`.
    pub fn of(app: &App) -> Entries {
        let index = |id: &str| {
            app.entries
                .iter()
                .position(|t| t.id == id)
                .map(|i| i as u32)
        };
        let list = app
            .entries
            .iter()
            .map(|e| EntryInfo {
                id: e.id.clone(),
                spawnable: matches!(e.kind, EntryKind::Process | EntryKind::Function),
                kind: e.kind.name().to_string(),
                method: e.method.clone(),
                imports: e
                    .imports
                    .iter()
                    .map(|(alias, target)| (alias.clone(), index(target)))
                    .collect(),
                source: e
                    .source
                    .as_ref()
                    .map(|s| (Rc::from(chunk_text(&s.text).as_str()), s.chunk_name.clone())),
                chunk: None,
                file: e.source.as_ref().map(|s| (s.path.clone(), s.text.clone())),
                failed: None,
            })
            .chain(std::iter::once(EntryInfo {
                id: SUPERVISOR_ENTRY.into(),
                spawnable: true,
                kind: "process.lua".into(),
                method: Some(SUPERVISOR_METHOD.into()),
                imports: Vec::new(),
                source: Some((Rc::from("return nil"), SUPERVISOR_ENTRY.into())),
                chunk: None,
                file: None,
                failed: None,
            }))
            .collect();
        let policies = Policies::new(
            app.entries
                .iter()
                .filter_map(|e| e.policy.clone())
                .collect(),
        );
        Entries { list, policies }
    }

    /// The app's policies (SPEC §11.3).
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The entry at `idx`.
    pub fn get(&self, idx: u32) -> Option<&EntryInfo> {
        self.list.get(idx as usize)
    }

    /// The id of the entry at `idx` (`?` when out of range).
    pub fn id(&self, idx: u32) -> &str {
        self.get(idx).map_or("?", |e| e.id.as_str())
    }

    /// The index of the spawnable entry `id`.
    pub fn find_spawnable(&self, id: &str) -> Option<u32> {
        self.list
            .iter()
            .position(|e| e.id == id && e.spawnable)
            .map(|i| i as u32)
    }

    /// The index of the entry `process.upgrade` may switch to: a spawnable entry of the
    /// app (the built-in supervisor is not one).
    pub fn find_upgradable(&self, id: &str) -> Option<u32> {
        self.find_spawnable(id).filter(|_| id != SUPERVISOR_ENTRY)
    }

    /// Readies entry `idx` for an upgrade: compiles it if it never was.
    ///
    /// # Errors
    /// The compiler's message, when its newest source failed to compile at the last reload
    /// or does not compile now.
    pub fn prepare_upgrade(&mut self, lua: &Lua, idx: u32) -> std::result::Result<(), String> {
        if let Some(msg) = self.get(idx).and_then(|e| e.failed.clone()) {
            return Err(msg);
        }
        let prefix = format!("entry {}: ", self.id(idx));
        self.start(lua, idx).map(|_| ()).map_err(|e| match e {
            Error::Lua(m) => m.strip_prefix(&prefix).unwrap_or(&m).to_string(),
            other => other.to_string(),
        })
    }

    /// Why `id` cannot be spawned, for a host's error message: `entry not found: <id>` with
    /// the closest spawnable id as a suggestion, or `<id> is a <kind> entry, not a process`.
    pub fn not_spawnable(&self, id: &str) -> String {
        if let Some(e) = self.list.iter().find(|e| e.id == id) {
            return format!("{id} is a {} entry, not a process", e.kind);
        }
        let best = self
            .list
            .iter()
            .filter(|e| e.spawnable)
            .map(|e| (edit_distance(&e.id, id), &e.id))
            .filter(|(d, cand)| *d <= 2.max(cand.len() / 4))
            .min();
        match best {
            Some((_, cand)) => format!("entry not found: {id} (did you mean {cand}?)"),
            None => format!("entry not found: {id}"),
        }
    }

    /// The entry index `alias` imports into entry `idx`; `Some(None)` when the alias is
    /// declared but its target is missing.
    pub fn import(&self, idx: u32, alias: &str) -> Option<Option<u32>> {
        let e = self.get(idx)?;
        e.imports.iter().find(|(a, _)| a == alias).map(|(_, t)| *t)
    }

    /// The compiled chunk of entry `idx`, compiling it on first use.
    ///
    /// # Errors
    /// `no Lua source for entry #idx`, or the syntax error naming the entry and line.
    pub fn chunk(&mut self, lua: &Lua, idx: u32) -> Result<Function> {
        self.start(lua, idx).map(|(f, _)| f)
    }

    /// What a process of entry `idx` starts with: the compiled chunk (compiled on first
    /// use) and the method to call, as a Lua string (`None`: `main`).
    ///
    /// # Errors
    /// As [`Entries::chunk`].
    pub fn start(&mut self, lua: &Lua, idx: u32) -> Result<(Function, Option<mlua::LuaString>)> {
        let e = self
            .list
            .get_mut(idx as usize)
            .ok_or_else(|| Error::NotFound(format!("no Lua source for entry #{idx}")))?;
        if let Some(c) = &e.chunk {
            return Ok(c.clone());
        }
        let Some((text, name)) = &e.source else {
            return Err(Error::NotFound(format!("no Lua source for entry #{idx}")));
        };
        let f = compile_entry(lua, &e.id, text, name)?;
        let method = e
            .method
            .as_deref()
            .map(|m| lua.create_string(m))
            .transpose()?;
        e.chunk = Some((f.clone(), method.clone()));
        Ok((f, method))
    }
}

/// The text an entry compiles to: its source with the process environment as `_ENV` (on
/// the first line, so line numbers stay right) and a `#!` line turned into a comment.
fn chunk_text(src: &str) -> String {
    match src.strip_prefix("#!") {
        Some(rest) => format!("local _ENV = ...; --{rest}"),
        None => format!("local _ENV = ...; {src}"),
    }
}

/// Compiles an entry's chunk text.
///
/// # Errors
/// The syntax error, naming the entry and the line.
pub fn compile_entry(lua: &Lua, id: &str, text: &str, chunk_name: &str) -> Result<Function> {
    compile_text(lua, text, chunk_name).map_err(|msg| Error::Lua(format!("entry {id}: {msg}")))
}

/// Compiles chunk text; `Err` is the compiler's message.
fn compile_text(lua: &Lua, text: &str, chunk_name: &str) -> std::result::Result<Function, String> {
    lua.load(text)
        .set_name(format!("@{chunk_name}"))
        .into_function()
        .map_err(|err| one_line(&err))
}

/// Compiles every Lua entry of `app` once, in a scratch state, to report syntax errors at
/// load time (runtimes compile lazily), and warns about unknown `modules` names.
///
/// # Errors
/// The first syntax error, naming entry, file and line.
pub fn check_syntax(app: &App) -> Result<()> {
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new())?;
    for e in &app.entries {
        for m in &e.modules {
            if !BUILTIN_MODULES.contains(&m.as_str()) {
                log::warn!("entry {}: unknown module '{m}' in modules", e.id);
            }
        }
        if let Some(src) = &e.source {
            compile_entry(&lua, &e.id, &chunk_text(&src.text), &src.chunk_name)?;
            if let Some(m) = &e.method
                && !mentions(&src.text, m)
            {
                return Err(Error::Manifest(format!(
                    "entry {}: method '{m}' is not defined in {} (a typo in `method`?)",
                    e.id, src.chunk_name
                )));
            }
        }
    }
    Ok(())
}

/// Whether `src` uses `name` as an identifier anywhere (a method the chunk's table can
/// hold must be named in its source, unless the script builds names at run time).
fn mentions(src: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    src.match_indices(name).any(|(i, _)| {
        let before = src[..i].chars().next_back();
        let after = src[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Levenshtein distance between two ids (for "did you mean" suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn one_line(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, mentions};

    #[test]
    fn methods_are_found_as_whole_identifiers() {
        assert!(mentions("function M.main() end", "main"));
        assert!(mentions("return { main = f }", "main"));
        assert!(!mentions("function M.mainly() end", "main"));
        assert!(!mentions("function M.main() end", "mian"));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("app:main", "app:mian"), 2);
        assert_eq!(edit_distance("app:main", "app:main"), 0);
        assert_eq!(edit_distance("app:main", "app:mains"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
