//! Security data (SPEC §11): actors, policies and scopes, and how a scope answers a request.
//!
//! Plain Rust, no Lua: the core keeps a process's actor and scope as these values (inside its
//! [`SpawnContext`](crate::context::SpawnContext)), the manifest builds policies from
//! `security.policy` entries, and `lua/security.rs` wraps them in userdata. Everything here
//! is immutable once built and shared through `Rc`: "changing" a scope makes a new one.
//! moonhost checks no permissions with them (SPEC §11.5).

use crate::payload::Payload;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Who a process acts for: an id and free metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// The actor's id.
    pub id: String,
    /// Metadata by string key, values copied as payloads.
    pub meta: BTreeMap<String, Payload>,
}

/// What a policy answers when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The policy allows what it matches.
    Allow,
    /// The policy denies what it matches.
    Deny,
}

impl Effect {
    /// `"allow"` -> `Allow`, `"deny"` -> `Deny`, anything else `None`.
    pub fn parse(s: &str) -> Option<Effect> {
        match s {
            "allow" => Some(Effect::Allow),
            "deny" => Some(Effect::Deny),
            _ => None,
        }
    }
}

/// The answer of a policy or a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
    /// Nothing matched.
    Undefined,
}

impl Decision {
    /// The Lua string: `"allow"`, `"deny"` or `"undefined"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Undefined => "undefined",
        }
    }
}

/// One policy: action and resource patterns and the effect it answers when both match.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `ns:name` (the manifest entry's id).
    pub id: String,
    /// Action patterns (any one matching is enough).
    pub actions: Vec<String>,
    /// Resource patterns (any one matching is enough).
    pub resources: Vec<String>,
    /// What a match answers.
    pub effect: Effect,
    /// Ids of the policy groups (named scopes) it belongs to.
    pub groups: Vec<String>,
}

impl Policy {
    /// Its effect when an action pattern matches `action` and a resource pattern matches
    /// `resource`, else [`Decision::Undefined`].
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        let hit = |pats: &[String], v: &str| pats.iter().any(|p| pattern_matches(p, v));
        if hit(&self.actions, action) && hit(&self.resources, resource) {
            match self.effect {
                Effect::Allow => Decision::Allow,
                Effect::Deny => Decision::Deny,
            }
        } else {
            Decision::Undefined
        }
    }
}

/// Whether `pattern` matches `value`: `*`, equality, or a pattern ending in `.*` or `*`
/// whose part before that suffix starts `value` (`app.*` matches `app.x` and `app`).
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" || pattern == value {
        return true;
    }
    let prefix = pattern
        .strip_suffix(".*")
        .or_else(|| pattern.strip_suffix('*'));
    prefix.is_some_and(|p| value.starts_with(p))
}

/// An immutable set of policies keyed by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    policies: BTreeMap<String, Rc<Policy>>,
}

impl Scope {
    /// A scope of `policies` (a later one replaces an earlier one with the same id).
    pub fn of(policies: impl IntoIterator<Item = Rc<Policy>>) -> Scope {
        Scope {
            policies: policies.into_iter().map(|p| (p.id.clone(), p)).collect(),
        }
    }

    /// The policies ordered by id.
    pub fn policies(&self) -> impl Iterator<Item = &Rc<Policy>> {
        self.policies.values()
    }

    /// A new scope with `policy` added, replacing one with the same id.
    pub fn with(&self, policy: Rc<Policy>) -> Scope {
        let mut s = self.clone();
        s.policies.insert(policy.id.clone(), policy);
        s
    }

    /// A new scope without the policy `id` (the same set when it is absent).
    pub fn without(&self, id: &str) -> Scope {
        let mut s = self.clone();
        s.policies.remove(id);
        s
    }

    /// Whether the scope holds a policy `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.policies.contains_key(id)
    }

    /// Deny if any policy denies, else allow if any allows, else undefined (also when the
    /// scope is empty).
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        let mut allowed = false;
        for p in self.policies.values() {
            match p.evaluate(action, resource) {
                Decision::Deny => return Decision::Deny,
                Decision::Allow => allowed = true,
                Decision::Undefined => {}
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::Undefined
        }
    }
}

/// The policies an app declares, by id and by group.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    list: Vec<Rc<Policy>>,
}

impl Policies {
    /// The set of `list` (manifest order).
    pub fn new(list: Vec<Policy>) -> Policies {
        Policies {
            list: list.into_iter().map(Rc::new).collect(),
        }
    }

    /// The policy `id`.
    pub fn get(&self, id: &str) -> Option<Rc<Policy>> {
        self.list.iter().find(|p| p.id == id).cloned()
    }

    /// A scope of every policy in group `id`, or `None` when no policy names that group.
    pub fn group(&self, id: &str) -> Option<Scope> {
        let members: Vec<_> = self
            .list
            .iter()
            .filter(|p| p.groups.iter().any(|g| g == id))
            .cloned()
            .collect();
        (!members.is_empty()).then(|| Scope::of(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(id: &str, actions: &[&str], resources: &[&str], effect: Effect) -> Rc<Policy> {
        Rc::new(Policy {
            id: id.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            effect,
            groups: vec!["app:g".into()],
        })
    }

    #[test]
    fn patterns_match_star_equality_and_prefixes() {
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches("fs.read", "fs.read"));
        assert!(!pattern_matches("fs.read", "fs.write"));
        assert!(pattern_matches("fs.*", "fs.read"));
        assert!(pattern_matches("fs.*", "fs"));
        assert!(pattern_matches("user:*", "user:42"));
        assert!(!pattern_matches("user:*", "admin:1"));
        assert!(!pattern_matches("fs.read", "fs.read.more"));
    }

    #[test]
    fn a_policy_answers_its_effect_only_when_action_and_resource_match() {
        let p = policy("app:p", &["read", "list"], &["doc.*"], Effect::Allow);
        assert_eq!(p.evaluate("read", "doc.1"), Decision::Allow);
        assert_eq!(p.evaluate("list", "doc.x"), Decision::Allow);
        assert_eq!(p.evaluate("write", "doc.1"), Decision::Undefined);
        assert_eq!(p.evaluate("read", "img.1"), Decision::Undefined);
    }

    #[test]
    fn deny_wins_over_allow_and_empty_is_undefined() {
        let allow = policy("app:a", &["*"], &["*"], Effect::Allow);
        let deny = policy("app:d", &["write"], &["*"], Effect::Deny);
        assert_eq!(Scope::default().evaluate("read", "x"), Decision::Undefined);
        let s = Scope::of([allow.clone(), deny]);
        assert_eq!(s.evaluate("read", "x"), Decision::Allow);
        assert_eq!(s.evaluate("write", "x"), Decision::Deny);
        assert_eq!(s.without("app:d").evaluate("write", "x"), Decision::Allow);
        assert_eq!(Scope::of([allow]).evaluate("read", "x"), Decision::Allow);
    }

    #[test]
    fn scopes_are_keyed_by_id_and_ordered() {
        let b = policy("app:b", &["*"], &["*"], Effect::Allow);
        let a = policy("app:a", &["*"], &["*"], Effect::Deny);
        let s = Scope::default().with(b.clone()).with(a);
        let ids: Vec<_> = s.policies().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["app:a", "app:b"]);
        let replaced = s.with(policy("app:a", &["*"], &["*"], Effect::Allow));
        assert_eq!(replaced.policies().count(), 2);
        assert_eq!(replaced.evaluate("x", "y"), Decision::Allow);
        assert!(s.contains("app:b") && !s.without("app:b").contains("app:b"));
        assert_eq!(s.without("app:none"), s);
    }

    #[test]
    fn groups_collect_their_members() {
        let set = Policies::new(vec![
            (*policy("app:p", &["*"], &["*"], Effect::Allow)).clone(),
        ]);
        assert!(set.get("app:p").is_some() && set.get("app:q").is_none());
        assert_eq!(set.group("app:g").map(|s| s.policies().count()), Some(1));
        assert!(set.group("app:none").is_none());
    }
}
