//! `kind: security.policy` entries (SPEC §11.3): read into [`Policy`] values at load.
//!
//! ```yaml
//! - name: read_docs
//!   kind: security.policy
//!   policy:
//!     actions: [read, list]     # a string or a list of strings
//!     resources: "doc.*"
//!     effect: allow             # allow | deny
//!   groups: [readers]           # a bare name gets the entry's namespace
//! ```
//!
//! The fields are read as free values first, so another kind that happens to use a field
//! named `policy` or `groups` still loads. `policy.conditions` fails the load: moonhost does
//! not evaluate conditions.

use super::MetaValue;
use crate::error::{Error, Result};
use crate::security::{Effect, Policy};

/// The kind these entries have.
pub const KIND: &str = "security.policy";

/// Where a policy entry was declared, for error messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    /// The manifest file as shown.
    pub file: &'a str,
    /// The entry's line.
    pub line: u64,
    /// The entry's id.
    pub id: &'a str,
    /// Its namespace.
    pub ns: &'a str,
}

impl At<'_> {
    fn err(&self, field: &str, what: &str) -> Error {
        Error::Manifest(format!(
            "{}:{}: field `{field}` {what} (entry {})",
            self.file, self.line, self.id
        ))
    }
}

/// The policy of entry `at` from its `policy` and `groups` fields.
///
/// # Errors
/// [`Error::Manifest`] naming file, line and field for a missing or malformed field, and
/// `security.policy <id>: conditions are not supported` for `policy.conditions`.
pub(super) fn build(
    at: At<'_>,
    policy: Option<MetaValue>,
    groups: Option<MetaValue>,
) -> Result<Policy> {
    let Some(MetaValue::Map(fields)) = policy else {
        return Err(at.err("policy", "must be a map with actions, resources and effect"));
    };
    if fields.contains_key("conditions") {
        return Err(Error::Manifest(format!(
            "{}:{}: {KIND} {}: conditions are not supported",
            at.file, at.line, at.id
        )));
    }
    let effect = match fields.get("effect") {
        Some(MetaValue::Str(s)) => Effect::parse(s),
        _ => None,
    }
    .ok_or_else(|| at.err("policy.effect", "must be allow or deny"))?;
    let groups = match groups {
        None | Some(MetaValue::Null) => Vec::new(),
        Some(g) => strings(&g).ok_or_else(|| at.err("groups", "must be a list of strings"))?,
    };
    Ok(Policy {
        id: at.id.to_string(),
        actions: patterns(&at, &fields, "actions")?,
        resources: patterns(&at, &fields, "resources")?,
        effect,
        groups: groups
            .into_iter()
            .map(|g| {
                if g.contains(':') {
                    g
                } else {
                    format!("{}:{g}", at.ns)
                }
            })
            .collect(),
    })
}

fn patterns(
    at: &At<'_>,
    fields: &std::collections::BTreeMap<String, MetaValue>,
    name: &str,
) -> Result<Vec<String>> {
    fields
        .get(name)
        .and_then(strings)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            at.err(
                &format!("policy.{name}"),
                "must be a string or a list of strings",
            )
        })
}

/// A string or a list of strings.
fn strings(v: &MetaValue) -> Option<Vec<String>> {
    match v {
        MetaValue::Str(s) => Some(vec![s.clone()]),
        MetaValue::List(items) => items
            .iter()
            .map(|i| match i {
                MetaValue::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::App;
    use crate::security::Effect;
    use std::path::Path;

    fn load(text: &str) -> crate::error::Result<App> {
        let mut app = App::default();
        app.add_file(Path::new("x/_index.yaml"), text)?;
        Ok(app)
    }

    #[test]
    fn policy_entries_become_policies_with_namespaced_groups() {
        let app = load(
            "namespace: app\nentries:\n  - name: p\n    kind: security.policy\n    \
             policy: {actions: read, resources: [\"doc.*\", img], effect: deny}\n    \
             groups: [readers, other:g]\n",
        )
        .expect("loads");
        let p = app.entries[0].policy.as_ref().expect("a policy");
        assert_eq!(p.id, "app:p");
        assert_eq!(p.actions, ["read"]);
        assert_eq!(p.resources, ["doc.*", "img"]);
        assert_eq!(p.effect, Effect::Deny);
        assert_eq!(p.groups, ["app:readers", "other:g"]);
    }

    #[test]
    fn conditions_and_bad_fields_fail_the_load() {
        let base = "namespace: app\nentries:\n  - name: p\n    kind: security.policy\n    policy: ";
        let err = |p: &str| {
            load(&format!("{base}{p}\n"))
                .expect_err("fails")
                .to_string()
        };
        assert!(
            err("{actions: a, resources: r, effect: allow, conditions: [x]}")
                .contains("security.policy app:p: conditions are not supported")
        );
        assert!(err("{actions: a, resources: r, effect: maybe}").contains("`policy.effect`"));
        assert!(err("{resources: r, effect: allow}").contains("`policy.actions`"));
        assert!(err("{actions: a, resources: [1], effect: allow}").contains("`policy.resources`"));
        assert!(err("7").contains("x/_index.yaml:3: field `policy`"));
    }

    #[test]
    fn other_kinds_may_use_the_field_names() {
        let app = load(
            "namespace: app\nentries:\n  - name: x\n    kind: http.router\n    policy: 5\n    \
             groups: {a: 1}\n",
        )
        .expect("loads");
        assert!(app.entries[0].policy.is_none());
    }
}
