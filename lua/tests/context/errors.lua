-- SPEC §10.2–§10.3: every error the spawners and the ctx module raise or return.
local assert = require("assert")
local helpers = require("helpers")
local ctx = require("ctx")
local security = require("security")

local HOST = helpers.HOST
local REPORT = "test.context:workers:report"
local SPAWNS = { "spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }

local M = {}

-- The exact message `fn(...)` raises.
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.eq(ok, false, "expected an error")
  assert.eq(type(err), "string", "errors are plain strings")
  return err
end

function M.process_spawners_want_a_table()
  for _, v in ipairs({ 5, "x", true }) do
    assert.eq(raised(process.with_context, v),
      "bad argument #1 to 'with_context' (table expected, got " .. type(v) .. ")")
    assert.eq(raised(process.with_options, v),
      "bad argument #1 to 'with_options' (table expected, got " .. type(v) .. ")")
  end
  assert.eq(raised(process.with_context),
    "bad argument #1 to 'with_context' (table expected, got nil)")
end

function M.keys_must_be_strings()
  assert.eq(raised(process.with_context, { "positional" }),
    "bad argument #1 to 'with_context' (context keys must be strings)")
  assert.eq(raised(process.with_options, { [true] = 1 }),
    "bad argument #1 to 'with_options' (options keys must be strings)")
  local sp = process.with_options({})
  assert.eq(raised(sp.with_options, sp, { [2] = 1 }),
    "bad argument #1 to 'with_options' (options keys must be strings)")
  -- the method form of with_context skips them instead
  assert.truthy(sp:with_context({ [2] = 1, ok = 1 }))
end

function M.values_section_5_refuses_raise()
  assert.eq(raised(process.with_context, { f = print }), "cannot send function")
  assert.eq(raised(process.with_context, { c = channel.new(1) }), "cannot send channel")
  local sp = process.with_context({})
  assert.eq(raised(sp.with_context, sp, { co = coroutine.create(print) }), "cannot send thread")
  assert.eq(raised(process.with_options, { f = print }), "cannot send function")
  assert.eq(raised(process.with_context, { sp = sp }), "cannot send userdata")
end

function M.actor_and_scope_must_be_given_and_of_their_type()
  local sp = process.with_context({})
  assert.eq(raised(sp.with_actor, sp, nil), "bad argument #1 to 'with_actor' (actor cannot be nil)")
  assert.eq(raised(sp.with_actor, sp, "user"), "bad argument #1 to 'with_actor' (Actor expected)")
  assert.eq(raised(sp.with_actor, sp, security.new_scope()),
    "bad argument #1 to 'with_actor' (Actor expected)")
  assert.eq(raised(sp.with_scope, sp), "bad argument #1 to 'with_scope' (scope cannot be nil)")
  assert.eq(raised(sp.with_scope, sp, {}), "bad argument #1 to 'with_scope' (Scope expected)")
  assert.eq(raised(sp.with_scope, sp, security.new_actor("a")),
    "bad argument #1 to 'with_scope' (Scope expected)")
end

function M.spawner_methods_want_a_spawner()
  local sp = process.with_context({})
  for _, m in ipairs({ "with_context", "with_options", "with_actor", "with_scope", "spawn",
    "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }) do
    for _, self in ipairs({ 1, {}, security.new_actor("a") }) do
      assert.eq(raised(sp[m], self, {}), "bad argument #1 to '" .. m .. "' (Spawner expected)")
    end
  end
end

function M.spawner_spawns_raise_without_id_and_host()
  local sp = process.with_context({})
  for _, m in ipairs(SPAWNS) do
    assert.eq(raised(sp[m], sp), "spawn requires at least id and host arguments")
    assert.eq(raised(sp[m], sp, REPORT), "spawn requires at least id and host arguments")
  end
end

function M.spawner_spawns_return_the_other_failures()
  local sp = process.with_context({ k = 1 })
  for _, m in ipairs(SPAWNS) do
    helpers.refused("host not found", sp[m](sp, REPORT, "app:no_such_host"))
    helpers.refused("entry not found: test.context:nope", sp[m](sp, "test.context:nope", HOST))
    helpers.refused("entry not found: test.context:report", sp[m](sp, "test.context:report", HOST))
    helpers.refused("cannot send function", sp[m](sp, REPORT, HOST, print))
  end
  -- process.spawn* return the missing-argument error instead of raising it
  helpers.refused("spawn_linked requires at least id and host arguments", process.spawn_linked(REPORT))
end

function M.spawner_spawns_hit_the_host_limit()
  local sp = process.with_context({})
  local pids, err = {}, nil
  for _ = 1, 3 do
    local pid, e = sp:spawn("test.context:workers:wait", "app:few_processes")
    if not pid then err = e break end
    pids[#pids + 1] = pid
  end
  assert.eq(err, "max processes limit exceeded")
  for _, pid in ipairs(pids) do process.send(pid, "done") end
end

function M.spawners_are_not_sendable()
  local sp = process.with_context({ k = 1 })
  helpers.refused("cannot send userdata", process.send(process.pid(), "t", sp))
  helpers.refused("cannot send userdata", process.spawn(REPORT, HOST, sp))
end

function M.ctx_get_refuses_non_strings_and_empty_keys()
  for _, v in ipairs({ 1, true, {} }) do
    assert.eq(raised(ctx.get, v), "ctx.get: bad argument #1 (expected string, got " .. type(v) .. ")")
  end
  assert.eq(raised(ctx.get), "ctx.get: bad argument #1 (expected string, got nil)")
  local v, err = ctx.get("")
  assert.eq(v, nil)
  assert.eq(err:kind(), "Invalid")
  assert.eq(tostring(err), "empty key")
  assert.eq(err:retryable(), false)
end

return M
