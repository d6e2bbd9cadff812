-- SPEC §11: every error the security module and its objects raise.
local assert = require("assert")
local security = require("security")

local M = {}

local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.eq(ok, false, "expected an error")
  assert.eq(type(err), "string", "errors are plain strings")
  return err
end

local function read_docs()
  return (security.policy("test.security:read_docs"))
end

function M.new_actor_checks_id_and_meta()
  assert.eq(raised(security.new_actor, 5),
    "security.new_actor: bad argument #1 (expected string, got number)")
  assert.eq(raised(security.new_actor),
    "security.new_actor: bad argument #1 (expected string, got nil)")
  assert.eq(raised(security.new_actor, "a", "meta"),
    "security.new_actor: bad argument #2 (expected table, got string)")
  assert.eq(raised(security.new_actor, "a", { f = print }), "cannot send function")
  assert.eq(raised(security.new_actor, "a", { deep = { co = coroutine.create(print) } }),
    "cannot send thread")
end

function M.new_scope_wants_a_table()
  assert.eq(raised(security.new_scope, "x"),
    "security.new_scope: bad argument #1 (expected table, got string)")
end

function M.scope_with_wants_a_policy()
  local s = security.new_scope()
  assert.eq(raised(s.with, s, "test.security:read_docs"), "bad argument #1 to 'with' (Policy expected)")
  assert.eq(raised(s.with, s, security.new_actor("a")), "bad argument #1 to 'with' (Policy expected)")
end

function M.policy_ids_are_strings_tables_or_policies()
  local s = security.new_scope({ read_docs() })
  for _, m in ipairs({ "without", "contains" }) do
    assert.eq(raised(s[m], s, { ns = "test.security" }),
      "bad argument #1 to '" .. m .. "' (ID table must have ns and name fields)")
    assert.eq(raised(s[m], s, { name = "read_docs" }),
      "bad argument #1 to '" .. m .. "' (ID table must have ns and name fields)")
    assert.eq(raised(s[m], s, security.new_actor("a")),
      "bad argument #1 to '" .. m .. "' (Policy or policy ID string expected)")
    assert.eq(raised(s[m], s, 5),
      "bad argument #1 to '" .. m .. "' (Policy ID expected as string, table, or policy object)")
    assert.eq(raised(s[m], s),
      "bad argument #1 to '" .. m .. "' (Policy ID expected as string, table, or policy object)")
  end
end

function M.evaluate_checks_its_arguments()
  local a = security.new_actor("a")
  for _, obj in ipairs({ security.new_scope(), read_docs() }) do
    assert.eq(raised(obj.evaluate, obj, "a", "read", "doc"),
      "bad argument #1 to 'evaluate' (Actor expected)")
    assert.eq(raised(obj.evaluate, obj, a, 1, "doc"),
      "bad argument #2 to 'evaluate' (string expected, got number)")
    assert.eq(raised(obj.evaluate, obj, a, "read"),
      "bad argument #3 to 'evaluate' (string expected, got nil)")
  end
end

function M.methods_want_their_own_object()
  local s, p, a = security.new_scope(), read_docs(), security.new_actor("a")
  assert.eq(raised(a.id, s), "bad argument #1 to 'id' (Actor expected)")
  assert.eq(raised(a.meta, {}), "bad argument #1 to 'meta' (Actor expected)")
  assert.eq(raised(s.policies, a), "bad argument #1 to 'policies' (Scope expected)")
  assert.eq(raised(s.with, p, p), "bad argument #1 to 'with' (Scope expected)")
  assert.eq(raised(p.id, s), "bad argument #1 to 'id' (Policy expected)")
end

function M.can_wants_strings()
  assert.eq(raised(security.can, 1, "doc"),
    "security.can: bad argument #1 (expected string, got number)")
  assert.eq(raised(security.can, "read"),
    "security.can: bad argument #2 (expected string, got nil)")
  assert.eq(raised(security.policy, 1),
    "security.policy: bad argument #1 (expected string, got number)")
  assert.eq(raised(security.named_scope), 
    "security.named_scope: bad argument #1 (expected string, got nil)")
end

return M
