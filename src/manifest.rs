//! Manifests: every `_index.yaml` under an application folder, read into one [`App`].
//!
//! Each file declares a `namespace` and a list of `entries` (SPEC §1). Loading checks every
//! field it understands, reads each entry's source file, and reports the first problem with
//! the file, line and field it concerns; unknown kinds are kept and ignored. Called by the
//! runtime builder, the command line and the test runner; nothing here touches Lua.
//!
//! A `kind: test.suite` or `kind: process.set` entry is a compact form: [`compact`] expands it
//! at load into one test (or one `process.lua` entry) per function its source defines.

use crate::error::{Error, Result};
use crate::limits::LimitOverrides;
use crate::security::Policy;
use host_limits::{SizeValue, limit_fields};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub mod compact;
mod host_limits;
pub mod policy;

/// Largest Lua source file an entry may name.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Name of the host an app gets when it declares none.
pub const DEFAULT_HOST: &str = "app:processes";

/// A free-form `meta` value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum MetaValue {
    /// `~` or `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Num(f64),
    /// A string.
    Str(String),
    /// A sequence.
    List(Vec<MetaValue>),
    /// A mapping.
    Map(BTreeMap<String, MetaValue>),
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    /// `process.lua`: spawned as a process.
    Process,
    /// `function.lua`: called, but runs as a process too (tests are these).
    Function,
    /// `library.lua`: a module other entries import.
    Library,
    /// `process.host`: a place processes run.
    Host,
    /// Any other kind: kept, ignored.
    Other(String),
}

impl EntryKind {
    /// The manifest's name of the kind (`process.lua`, `process.host`, …).
    pub fn name(&self) -> &str {
        match self {
            EntryKind::Process => "process.lua",
            EntryKind::Function => "function.lua",
            EntryKind::Library => "library.lua",
            EntryKind::Host => "process.host",
            EntryKind::Other(s) => s,
        }
    }

    fn parse(s: &str) -> EntryKind {
        match s {
            "process.lua" => EntryKind::Process,
            "function.lua" => EntryKind::Function,
            "library.lua" => EntryKind::Library,
            "process.host" => EntryKind::Host,
            other => EntryKind::Other(other.to_string()),
        }
    }

    fn has_source(&self) -> bool {
        matches!(
            self,
            EntryKind::Process | EntryKind::Function | EntryKind::Library
        )
    }
}

/// A Lua source file an entry points at.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path on disk.
    pub path: PathBuf,
    /// Path relative to the app root, used as the chunk name in error messages.
    pub chunk_name: String,
    /// The file's text.
    pub text: String,
}

/// One manifest entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `namespace:name`.
    pub id: String,
    /// The entry's kind.
    pub kind: EntryKind,
    /// The Lua source, for Lua kinds.
    pub source: Option<Source>,
    /// Function of the returned table to run (`process.lua` / `function.lua`).
    pub method: Option<String>,
    /// Built-in modules the entry lists.
    pub modules: Vec<String>,
    /// `alias -> entry id` for `require`.
    pub imports: BTreeMap<String, String>,
    /// Free-form metadata (`type: test`, `suite`, `order`, ...).
    pub meta: BTreeMap<String, MetaValue>,
    /// For hosts: the limits its manifest sets.
    pub limits: LimitOverrides,
    /// The manifest file and line that declared the entry.
    pub origin: String,
    /// For an entry expanded from a `test.suite` or `process.set` entry: that entry's id.
    pub expanded_from: Option<String>,
    /// For a `security.policy` entry: its policy (SPEC §11.3).
    pub policy: Option<Policy>,
}

impl Entry {
    /// A `meta` string value.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        match self.meta.get(key) {
            Some(MetaValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A `meta` number value.
    pub fn meta_num(&self, key: &str) -> Option<f64> {
        match self.meta.get(key) {
            Some(MetaValue::Int(i)) => Some(*i as f64),
            Some(MetaValue::Num(n)) => Some(*n),
            _ => None,
        }
    }

    /// Whether the entry is a test (`meta.type: test`).
    pub fn is_test(&self) -> bool {
        self.meta_str("type") == Some("test")
    }
}

/// A whole application: every entry of every manifest under one folder.
#[derive(Debug, Clone, Default)]
pub struct App {
    /// The folder the app was loaded from.
    pub root: PathBuf,
    /// Entries in load order (files sorted by path, entries in file order).
    pub entries: Vec<Entry>,
    /// Problems that do not stop the app (unknown `modules` names).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct RawFile {
    namespace: Option<Spanned<String>>,
    #[serde(default)]
    entries: Option<Vec<Spanned<RawEntry>>>,
}

#[derive(Deserialize)]
struct RawEntry {
    name: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    method: Option<Spanned<String>>,
    modules: Option<Vec<String>>,
    imports: Option<BTreeMap<String, String>>,
    meta: Option<BTreeMap<String, MetaValue>>,
    max_processes: Option<Spanned<u64>>,
    max_memory: Option<Spanned<SizeValue>>,
    max_instructions: Option<Spanned<u64>>,
    mailbox_limit: Option<Spanned<u64>>,
    max_payload_bytes: Option<Spanned<SizeValue>>,
    max_payload_depth: Option<Spanned<u64>>,
    max_table_entries: Option<Spanned<u64>>,
    allow: Option<Spanned<Vec<String>>>,
    policy: Option<MetaValue>,
    groups: Option<MetaValue>,
}

impl App {
    /// Loads every `_index.yaml` under `root`.
    ///
    /// # Errors
    /// [`Error::Manifest`] naming file, line and field for a malformed manifest, a duplicate
    /// id, a missing source file or an import of an unknown entry; [`Error::Io`] when the
    /// folder cannot be read.
    pub fn load(root: impl AsRef<Path>) -> Result<App> {
        let root = root.as_ref().to_path_buf();
        if !root.exists() {
            return Err(Error::NotFound(format!(
                "app folder not found: {}",
                root.display()
            )));
        }
        if !root.is_dir() {
            return Err(Error::Io(format!(
                "app folder is not a directory: {}",
                root.display()
            )));
        }
        let mut files = Vec::new();
        find_manifests(&root, &mut files)?;
        files.sort();
        if files.is_empty() {
            return Err(Error::Manifest(format!(
                "{}: no _index.yaml found",
                root.display()
            )));
        }
        let mut app = App {
            root: root.clone(),
            ..App::default()
        };
        for file in &files {
            let text = fs::read_to_string(file)
                .map_err(|e| Error::Io(format!("{}: {e}", file.display())))?;
            app.add_file(file, &text)?;
        }
        app.check()?;
        if !app.entries.iter().any(|e| e.kind == EntryKind::Host) {
            app.entries.push(default_host());
        }
        Ok(app)
    }

    /// Parses one manifest's text as if it were at `file` (used by `load` and the fuzzer).
    ///
    /// # Errors
    /// As [`App::load`].
    pub fn add_file(&mut self, file: &Path, text: &str) -> Result<()> {
        let shown = file.display().to_string();
        let raw: RawFile = serde_saphyr::from_str(text)
            .map_err(|e| Error::Manifest(format!("{shown}: {}", one_line(&e.to_string()))))?;
        let ns = raw
            .namespace
            .ok_or_else(|| Error::Manifest(format!("{shown}:1: field `namespace` is missing")))?;
        if ns.value.trim().is_empty() {
            return Err(field_err(
                &shown,
                ns.referenced.line(),
                "namespace",
                "is empty",
            ));
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        for spanned in raw.entries.unwrap_or_default() {
            let line = spanned.referenced.line();
            let entry = self.entry_from_raw(&shown, dir, &ns.value, spanned.value, line)?;
            if matches!(&entry.kind, EntryKind::Other(k) if compact::is_compact(k)) {
                self.entries.extend(compact::expand(entry)?);
            } else {
                self.entries.push(entry);
            }
        }
        Ok(())
    }

    fn entry_from_raw(
        &mut self,
        shown: &str,
        dir: &Path,
        ns: &str,
        mut raw: RawEntry,
        line: u64,
    ) -> Result<Entry> {
        let limits = limit_fields(shown, &mut raw)?;
        let name = raw
            .name
            .ok_or_else(|| field_err(shown, line, "name", "is missing"))?;
        if name.value.trim().is_empty() {
            return Err(field_err(shown, name.referenced.line(), "name", "is empty"));
        }
        let id = format!("{ns}:{}", name.value);
        let kind = raw
            .kind
            .ok_or_else(|| field_err(shown, line, "kind", &format!("is missing (entry {id})")))?;
        let kind_v = EntryKind::parse(&kind.value);
        let policy = if kind.value == policy::KIND {
            let at = policy::At {
                file: shown,
                line,
                id: &id,
                ns,
            };
            Some(policy::build(at, raw.policy.take(), raw.groups.take())?)
        } else {
            None
        };
        let is_compact = compact::is_compact(&kind.value);
        if let (true, Some(m)) = (is_compact, &raw.method) {
            return Err(field_err(
                shown,
                m.referenced.line(),
                "method",
                &format!(
                    "is not allowed on a {} entry (entry {id}): every function of its \
                     source becomes an entry",
                    kind.value
                ),
            ));
        }
        let source = if kind_v.has_source() || is_compact {
            let src = raw.source.ok_or_else(|| {
                field_err(shown, line, "source", &format!("is missing (entry {id})"))
            })?;
            Some(self.read_source(shown, dir, &id, &src)?)
        } else {
            None
        };
        Ok(Entry {
            id,
            kind: kind_v,
            source,
            method: raw.method.map(|m| m.value),
            modules: raw.modules.unwrap_or_default(),
            imports: raw.imports.unwrap_or_default(),
            meta: raw.meta.unwrap_or_default(),
            limits,
            origin: format!("{shown}:{line}"),
            expanded_from: None,
            policy,
        })
    }

    fn read_source(
        &self,
        shown: &str,
        dir: &Path,
        id: &str,
        src: &Spanned<String>,
    ) -> Result<Source> {
        let line = src.referenced.line();
        let rel = src.value.strip_prefix("file://").ok_or_else(|| {
            field_err(
                shown,
                line,
                "source",
                &format!("must start with file:// (entry {id}, got {:?})", src.value),
            )
        })?;
        let path = dir.join(rel);
        let bad = |what: String| {
            Error::Manifest(format!(
                "{shown}:{line}: field `source`: entry {id}: {} {what}",
                path.display()
            ))
        };
        // A device or a huge file would be read until memory runs out.
        match fs::metadata(&path) {
            Ok(m) if !m.is_file() => return Err(bad("is not a regular file".into())),
            Ok(m) if m.len() > MAX_SOURCE_BYTES => {
                return Err(bad(format!("is larger than {MAX_SOURCE_BYTES} bytes")));
            }
            _ => {}
        }
        let text = fs::read_to_string(&path).map_err(|e| {
            Error::Manifest(format!(
                "{shown}:{line}: field `source`: entry {id}: cannot read {}: {e}",
                path.display()
            ))
        })?;
        let chunk_name = path
            .strip_prefix(&self.root)
            .unwrap_or(&path)
            .display()
            .to_string();
        Ok(Source {
            path,
            chunk_name,
            text,
        })
    }

    fn check(&mut self) -> Result<()> {
        let mut seen = BTreeMap::new();
        for e in &self.entries {
            if let Some(first) = seen.insert(e.id.as_str(), e.origin.as_str()) {
                return Err(Error::Manifest(format!(
                    "{}: field `name`: duplicate entry id {} (first declared at {first})",
                    e.origin, e.id
                )));
            }
        }
        for e in &self.entries {
            for (alias, target) in &e.imports {
                let ok = self
                    .entries
                    .iter()
                    .any(|t| &t.id == target && t.kind == EntryKind::Library);
                if !ok {
                    return Err(Error::Manifest(format!(
                        "{}: field `imports`: entry {}: alias {alias} names {target}, \
                         which is not a library.lua entry",
                        e.origin, e.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// Finds an entry by id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The ids of the app's hosts, in declaration order.
    pub fn hosts(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::Host)
    }
}

fn default_host() -> Entry {
    Entry {
        id: DEFAULT_HOST.to_string(),
        kind: EntryKind::Host,
        source: None,
        method: None,
        modules: Vec::new(),
        imports: BTreeMap::new(),
        meta: BTreeMap::new(),
        limits: LimitOverrides::default(),
        origin: "(default host)".to_string(),
        expanded_from: None,
        policy: None,
    }
}

fn field_err(file: &str, line: u64, field: &str, what: &str) -> Error {
    Error::Manifest(format!("{file}:{line}: field `{field}` {what}"))
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn find_manifests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
        let path = ent.path();
        let ft = ent
            .file_type()
            .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        if ft.is_dir() {
            find_manifests(&path, out)?;
        } else if ent.file_name() == "_index.yaml" {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<App> {
        let mut app = App::default();
        app.add_file(Path::new("/nonexistent/_index.yaml"), text)?;
        Ok(app)
    }

    #[test]
    fn host_and_unknown_kinds_parse() {
        let app = parse(
            "namespace: app\nentries:\n  - name: processes\n    kind: process.host\n    \
             max_processes: 3\n  - name: x\n    kind: http.router\n",
        )
        .expect("valid");
        assert_eq!(app.entries[0].id, "app:processes");
        assert_eq!(app.entries[0].limits.max_processes, Some(3));
        assert_eq!(app.entries[1].kind, EntryKind::Other("http.router".into()));
    }

    #[test]
    fn host_limits_parse_and_bad_ones_name_the_field() {
        let app = parse(
            "namespace: app\nentries:\n  - name: h\n    kind: process.host\n    \
             max_memory: 1MiB\n    mailbox_limit: 5\n    allow: [io]\n    \
             max_table_entries: 4096\n",
        )
        .expect("valid");
        let l = &app.entries[0].limits;
        assert_eq!(l.memory_bytes, Some(1 << 20));
        assert_eq!(l.mailbox_len, Some(5));
        assert_eq!(l.table_entries, Some(4096));
        assert_eq!(l.allow.as_deref(), Some(&["io".to_string()][..]));
        let msg = parse(
            "namespace: a\nentries:\n  - name: h\n    kind: process.host\n    \
                         max_memory: lots\n",
        )
        .expect_err("bad size")
        .to_string();
        assert!(msg.contains(":5:") && msg.contains("max_memory"), "{msg}");
        let msg = parse(
            "namespace: a\nentries:\n  - name: h\n    kind: process.host\n    \
                         allow: [debug]\n",
        )
        .expect_err("bad allow")
        .to_string();
        assert!(msg.contains("allow"), "{msg}");
    }

    #[test]
    fn missing_field_names_file_line_and_field() {
        let err = parse("namespace: app\nentries:\n  - name: a\n    kind: process.lua\n")
            .expect_err("no source");
        let msg = err.to_string();
        assert!(msg.contains("_index.yaml:3"), "{msg}");
        assert!(msg.contains("source"), "{msg}");
    }

    #[test]
    fn yaml_syntax_error_names_line() {
        let msg = parse("namespace: app\nentries: [\n  - :\n")
            .expect_err("bad")
            .to_string();
        assert!(msg.contains("_index.yaml"), "{msg}");
        assert!(msg.contains("line") || msg.contains(':'), "{msg}");
    }

    #[test]
    fn a_source_that_is_not_a_regular_file_is_refused() {
        let err = parse(
            "namespace: a\nentries:\n  - name: x\n    kind: process.lua\n    \
             source: file:///dev/zero\n",
        )
        .expect_err("device");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error_not_a_panic() {
        assert!(parse("namespace: [1]\n").is_err());
        assert!(parse("namespace: a\nentries: 7\n").is_err());
        assert!(parse("namespace: a\nentries:\n  - name: {x: 1}\n").is_err());
        assert!(parse("").is_err());
    }
}
