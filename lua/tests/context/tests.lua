-- SPEC §10.1–§10.3: what a process carries, how spawners give it to children, how plain
-- spawns pass it on to any depth, and the ctx module.
local assert = require("assert")
local helpers = require("helpers")
local report = require("report")
local ctx = require("ctx")
local security = require("security")

local HOST = helpers.HOST
local REPORT = "test.context:workers:report"

local M = {}

-- The next "carried" report from a worker.
local function carried(what)
  local msg = helpers.recv(process.inbox(), what or "a report", "2s")
  assert.eq(msg:topic(), "carried")
  return msg:payload():data()
end

function M.a_test_process_starts_with_nothing()
  assert.same(ctx.all(), {})
  local v, err = ctx.get("user_id")
  assert.eq(v, nil)
  assert.eq(err:kind(), "NotFound")
  assert.eq(tostring(err), "key not found: user_id")
  assert.eq(err:message(), "key not found: user_id")
  assert.eq(err:retryable(), false)
  assert.eq(security.actor(), nil)
  assert.eq(security.scope(), nil)
  assert.eq(security.can("read", "doc.1"), false)
end

function M.a_plain_spawn_from_a_bare_process_gives_nothing()
  assert.truthy(process.spawn(REPORT, HOST, process.pid(), "plain"))
  local r = carried()
  assert.same(r.values, {})
  assert.eq(r.actor, false)
  assert.eq(r.scope, false)
end

function M.with_context_gives_the_child_its_values()
  local sp = process.with_context({ user_id = 42, name = "ann", ratio = 0.5, flag = false,
    nested = { list = { 1, 2, 3 } } })
  assert.truthy(sp:spawn(REPORT, HOST, process.pid(), "ctx"))
  local r = carried()
  assert.eq(r.values.user_id, 42)
  assert.eq(math.type(r.values.user_id), "integer")
  assert.eq(r.values.name, "ann")
  assert.eq(r.values.ratio, 0.5)
  assert.eq(r.values.flag, false)
  assert.same(r.values.nested, { list = { 1, 2, 3 } })
end

function M.ctx_get_reads_one_value_and_false_stays_false()
  local probe = process.with_context({ n = 7, off = false, t = { a = 1 } })
  assert.truthy(probe:spawn("test.context:workers:ctx_probe", HOST, process.pid()))
  local got = carried("ctx.get results")
  assert.same(got, { n = 7, n_err = "nil", off = false, off_err = "nil", fresh = true,
    missing_kind = "NotFound", missing = "key not found: missing", empty_kind = "Invalid",
    empty = "empty key" })
end

function M.values_are_copied_when_the_spawner_is_built()
  local values = { k = "before", t = { x = 1 } }
  local sp = process.with_context(values)
  values.k = "after"
  values.t.x = 2
  values.added = true
  assert.truthy(sp:spawn(REPORT, HOST, process.pid(), "copy"))
  local r = carried()
  assert.same(r.values, { k = "before", t = { x = 1 } })
end

function M.spawners_are_immutable_and_reusable()
  local base = process.with_context({ a = 1 })
  local more = base:with_context({ b = 2 })
  local actor = security.new_actor("user:1")
  local acting = more:with_actor(actor)
  assert.truthy(rawequal(base, more) == false and rawequal(more, acting) == false)
  for i = 1, 2 do
    assert.truthy(base:spawn(REPORT, HOST, process.pid(), "base " .. i))
    assert.same(carried().values, { a = 1 })
  end
  assert.truthy(more:spawn(REPORT, HOST, process.pid(), "more"))
  local r = carried()
  assert.same(r.values, { a = 1, b = 2 })
  assert.eq(r.actor, false)
  assert.truthy(acting:spawn(REPORT, HOST, process.pid(), "acting"))
  r = carried()
  assert.same(r.values, { a = 1, b = 2 })
  assert.eq(r.actor, "user:1")
  -- `more` did not change when `acting` was made from it
  assert.truthy(more:spawn(REPORT, HOST, process.pid(), "more again"))
  assert.eq(carried().actor, false)
end

function M.later_keys_win_and_non_string_keys_are_skipped_by_the_method()
  local sp = process.with_context({ a = 1, b = 1 }):with_context({ b = 2, [1] = "x", [true] = 3 })
  assert.truthy(sp:spawn(REPORT, HOST, process.pid(), "merge"))
  assert.same(carried().values, { a = 1, b = 2 })
end

function M.with_options_is_accepted_and_merged_and_changes_nothing_else()
  local sp = process.with_options({ priority = 1, tag = "x" }):with_options({ tag = "y" })
    :with_context({ k = "v" })
  assert.truthy(sp:spawn(REPORT, HOST, process.pid(), "options"))
  assert.same(carried().values, { k = "v" })
end

function M.plain_spawns_pass_values_actor_and_scope_to_depth_three()
  local p, err = security.policy("test.security:read_docs")
  assert.eq(err, nil)
  local sp = process.with_context({ tenant = "t1", level = 0 })
    :with_actor(security.new_actor("svc", { role = "reader" }))
    :with_scope(security.new_scope({ p }))
  assert.truthy(sp:spawn("test.context:workers:chain", HOST, process.pid(), 3))
  for level = 1, 3 do
    local r = carried("level " .. level)
    assert.eq(r.tag, "level " .. level)
    assert.same(r.values, { tenant = "t1", level = 0 })
    assert.eq(r.actor, "svc")
    assert.same(r.meta, { role = "reader" })
    assert.same(r.scope, { "test.security:read_docs" })
    assert.eq(r.can_read, true)
  end
end

function M.a_spawner_built_in_a_child_starts_from_the_childs_context_and_new_keys_win()
  local sp = process.with_context({ keep = "parent", over = "parent" })
    :with_actor(security.new_actor("a1"))
  assert.truthy(sp:spawn("test.context:workers:rewrap", HOST, process.pid(), { over = "child" }))
  local r = carried()
  assert.eq(r.tag, "rewrapped")
  assert.same(r.values, { keep = "parent", over = "child" })
  assert.eq(r.actor, "a1")
end

function M.with_actor_and_with_scope_replace_what_the_caller_has()
  local sp = process.with_context({})
    :with_actor(security.new_actor("first"))
    :with_actor(security.new_actor("second"))
    :with_scope(security.new_scope())
  assert.truthy(sp:spawn(REPORT, HOST, process.pid(), "replaced"))
  local r = carried()
  assert.eq(r.actor, "second")
  assert.same(r.scope, {})
  assert.eq(r.can_read, false)
end

function M.the_four_spawner_spawns_monitor_and_link_as_process_spawn_does()
  local sp = process.with_context({ k = 1 })
  local pid = sp:spawn_monitored(REPORT, HOST, process.pid(), "monitored")
  assert.same(carried().values, { k = 1 })
  helpers.exit_from(pid)
  process.set_options({ trap_links = true })
  pid = sp:spawn_linked("test.context:workers:fail", HOST)
  local ev = helpers.next_event("pid.link.down", pid)
  assert.contains(tostring(ev.error), "worker failed on purpose")
  pid = sp:spawn_linked_monitored("test.context:workers:fail", HOST)
  local kinds = {}
  for _ = 1, 2 do
    local e = helpers.next_event(nil, pid)
    kinds[e.kind] = true
  end
  assert.same(kinds, { ["pid.exit"] = true, ["pid.link.down"] = true })
  pid = sp:spawn(REPORT, HOST, process.pid(), "plain")
  assert.truthy(pid)
  assert.same(carried().values, { k = 1 })
  assert.truthy(helpers.quiet(process.events()), "a plain spawner spawn sends no event")
end

function M.ctx_all_returns_a_fresh_copy_each_call()
  local sp = process.with_context({ t = { 1 } })
  assert.truthy(sp:spawn("test.context:workers:ctx_all_probe", HOST, process.pid()))
  assert.same(carried("ctx.all results"), { first = { 1, 99 }, second = { 1 }, again = { 1 } })
end

return M
