-- SPEC §11.1–§11.4: actors, scopes, policies from the manifest, evaluation, and what a
-- process gets through its spawn context.
local assert = require("assert")
local helpers = require("helpers")
local security = require("security")

local HOST = helpers.HOST
local NS = "test.security:"

local M = {}

local function policy(name)
  local p, err = security.policy(NS .. name)
  assert.eq(err, nil, "policy " .. name)
  return p
end

local function ids(scope)
  local out = {}
  for i, p in ipairs(scope:policies()) do out[i] = p:id() end
  return out
end

-- What a probe worker spawned with `sp` answers.
local function probe(sp)
  assert.truthy(sp:spawn(NS .. "workers:probe", HOST, process.pid()))
  local msg = helpers.recv(process.inbox(), "a probe answer", "2s")
  return msg:payload():data()
end

function M.an_actor_keeps_its_id_and_a_copy_of_its_metadata()
  local meta = { role = "admin", tags = { "a", "b" }, n = 3, [1] = "dropped", [true] = 1 }
  local a = security.new_actor("user:1", meta)
  meta.role = "changed"
  meta.tags[1] = "changed"
  assert.eq(a:id(), "user:1")
  assert.same(a:meta(), { role = "admin", tags = { "a", "b" }, n = 3 })
  assert.eq(math.type(a:meta().n), "integer")
  local m = a:meta()
  m.tags[1] = "mutated"
  assert.same(a:meta().tags, { "a", "b" }, "meta() returns a fresh deep copy")
  assert.same(security.new_actor("x"):meta(), {})
  assert.same(security.new_actor("x", nil):meta(), {})
end

function M.a_new_scope_holds_only_policies()
  local s = security.new_scope()
  assert.eq(#s:policies(), 0)
  assert.eq(#security.new_scope(nil):policies(), 0)
  local mixed = security.new_scope({ policy("write_users"), "not a policy", 5,
    security.new_actor("a"), policy("read_docs") })
  assert.same(ids(mixed), { NS .. "read_docs", NS .. "write_users" })
end

function M.policies_come_from_the_manifest()
  local p = policy("read_docs")
  assert.eq(p:id(), NS .. "read_docs")
  local a = security.new_actor("u")
  assert.eq(p:evaluate(a, "read", "doc.1"), "allow")
  assert.eq(p:evaluate(a, "list", "doc"), "allow")
  assert.eq(p:evaluate(a, "write", "doc.1"), "undefined")
  assert.eq(p:evaluate(a, "read", "img.1", { extra = true }), "undefined")
  assert.eq(policy("deny_secret"):evaluate(a, "anything", "doc.secret"), "deny")
  assert.eq(policy("write_users"):evaluate(a, "write", "user:9"), "allow")
  assert.eq(policy("write_users"):evaluate(a, "write", "admin:9"), "undefined")
end

function M.unknown_policies_and_groups_return_internal_errors()
  local p, err = security.policy(NS .. "nope")
  assert.eq(p, nil)
  assert.eq(err:kind(), "Internal")
  assert.eq(tostring(err), "policy not found")
  assert.eq(err:retryable(), false)
  local s, gerr = security.named_scope(NS .. "nobody")
  assert.eq(s, nil)
  assert.eq(gerr:kind(), "Internal")
  assert.eq(gerr:message(), "policy group not found")
end

function M.named_scopes_hold_their_groups_policies()
  local readers, err = security.named_scope(NS .. "readers")
  assert.eq(err, nil)
  assert.same(ids(readers), { NS .. "deny_secret", NS .. "read_docs" })
  local admins = security.named_scope(NS .. "admins")
  assert.same(ids(admins), { NS .. "deny_secret", NS .. "write_users" })
end

function M.scope_evaluation_denies_first_then_allows()
  local a = security.new_actor("u")
  local readers = security.named_scope(NS .. "readers")
  assert.eq(security.new_scope():evaluate(a, "read", "doc.1"), "undefined")
  assert.eq(readers:evaluate(a, "read", "doc.1"), "allow")
  assert.eq(readers:evaluate(a, "read", "doc.secret"), "deny")
  assert.eq(readers:evaluate(a, "write", "doc.1"), "undefined")
  assert.eq(readers:without(NS .. "deny_secret"):evaluate(a, "read", "doc.secret"), "allow")
end

function M.scopes_are_immutable_sets_keyed_by_id()
  local s = security.new_scope()
  local one = s:with(policy("read_docs"))
  local again = one:with(policy("read_docs"))
  assert.eq(#s:policies(), 0, "with returns a new scope")
  assert.same(ids(again), { NS .. "read_docs" }, "the same id is replaced, not added")
  local two = again:with(policy("deny_secret"))
  assert.same(ids(two), { NS .. "deny_secret", NS .. "read_docs" })
  assert.eq(two:contains(NS .. "read_docs"), true)
  assert.eq(two:contains(policy("deny_secret")), true)
  assert.eq(two:contains({ ns = "test.security", name = "read_docs" }), true)
  assert.eq(two:contains(NS .. "write_users"), false)
  assert.same(ids(two:without(NS .. "read_docs")), { NS .. "deny_secret" })
  assert.same(ids(two:without(policy("deny_secret"))), { NS .. "read_docs" })
  assert.same(ids(two:without({ ns = "test.security", name = "deny_secret" })), { NS .. "read_docs" })
  assert.same(ids(two:without(NS .. "absent")), ids(two), "removing an absent id is no error")
  assert.same(ids(two), { NS .. "deny_secret", NS .. "read_docs" })
end

function M.a_process_gets_actor_and_scope_through_a_spawner()
  local sp = process.with_context({})
    :with_actor(security.new_actor("svc", { team = "docs" }))
    :with_scope(security.named_scope(NS .. "readers"))
  local r = probe(sp)
  assert.eq(r.actor, "svc")
  assert.eq(r.fresh, true, "security.actor() makes a fresh object each call")
  assert.same(r.meta, { team = "docs" })
  assert.same(r.scope, { NS .. "deny_secret", NS .. "read_docs" })
  assert.eq(r.read_doc, true)
  assert.eq(r.read_secret, false)
  assert.eq(r.write_user, false)
end

function M.can_needs_both_an_actor_and_a_scope_that_allows()
  local admins = security.named_scope(NS .. "admins")
  local only_scope = probe(process.with_context({}):with_scope(admins))
  assert.eq(only_scope.actor, false)
  assert.eq(only_scope.write_user, false, "no actor: false")
  local only_actor = probe(process.with_context({}):with_actor(security.new_actor("a")))
  assert.eq(only_actor.scope, false)
  assert.eq(only_actor.write_user, false, "no scope: false")
  local both = probe(process.with_context({}):with_actor(security.new_actor("a")):with_scope(admins))
  assert.eq(both.write_user, true)
  assert.eq(both.read_doc, false, "undefined is not allowed")
end

function M.nothing_is_enforced_under_an_empty_scope()
  -- Wippy would deny these under an empty scope (SPEC §11.5); moonhost allows them.
  local sp = process.with_context({}):with_actor(security.new_actor("a"))
    :with_scope(security.new_scope())
  local r = probe(sp)
  assert.eq(r.read_doc, false)
  assert.truthy(sp:with_context({ more = 1 }))
  assert.truthy(security.new_scope():with(policy("read_docs")))
end

function M.security_objects_are_not_sendable()
  for _, v in ipairs({ security.new_actor("a"), security.new_scope(), policy("read_docs") }) do
    helpers.refused("cannot send userdata", process.send(process.pid(), "t", v))
  end
end

return M
