-- Many children spawned and ended (issue 9, spawn_exit): what the faster spawn and exit
-- paths must keep — the monitor bookkeeping a parent of many children has, the exact
-- fields of every EXIT event, and a fresh environment for every child.
local assert = require("assert")
local helpers = require("helpers")

local M = {}
local exit_from = helpers.exit_from
local workers = helpers.spawners("test.lifecycle:workers")
local spawn_monitored = workers.spawn_monitored

-- The parent's `monitors` (process.info) is a set kept per child: it lists the children in
-- spawn order whatever order they were monitored, unmonitored and ended in.
function M.a_parent_of_many_children_lists_its_monitors_in_spawn_order()
  local kids, kept = {}, {}
  for i = 1, 40 do kids[i] = spawn_monitored("agent") end
  for i = 40, 1, -1 do
    if i % 3 == 0 then assert.eq(process.unmonitor(kids[i]), true) end
  end
  for i = 1, 40 do
    if i % 3 ~= 0 then kept[#kept + 1] = kids[i] end
  end
  assert.same(process.info(process.pid()).monitors, kept)
  -- Every other monitored child ends; its EXIT comes and it leaves the list.
  local left = {}
  for n, pid in ipairs(kept) do
    if n % 2 == 0 then
      process.send(pid, "stop", n)
      assert.eq(exit_from(pid).result.value, n)
    else
      left[#left + 1] = pid
    end
  end
  assert.same(process.info(process.pid()).monitors, left)
  -- Monitoring one again puts it back in its spawn-order place.
  assert.eq(process.monitor(kids[3]), true)
  local mons = process.info(process.pid()).monitors
  assert.eq(mons[2], kids[3], "kids[3] sits between kids[1] and kids[4]")
  for _, pid in ipairs(kids) do process.terminate(pid) end
  local seen = helpers.events_by_from(#left + 1, "pid.exit")
  for _, pid in ipairs(left) do assert(seen[pid], "the EXIT of a monitored child") end
  assert(seen[kids[3]], "the EXIT of the child monitored again")
  assert.same(process.info(process.pid()).monitors, {})
  return true
end

-- Every field an EXIT event has, and nothing else (SPEC §2.3), normal and abnormal, for
-- many children in a row.
local function keys_of(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

function M.exit_events_of_many_children_have_exactly_the_spec_fields()
  local normal, failed = {}, {}
  for i = 1, 30 do
    normal[i] = spawn_monitored("returner", "value", i)
    failed[i] = spawn_monitored("raiser", "boom " .. i)
  end
  -- The children end in whatever order the scheduler runs them.
  local seen = helpers.events_by_from(60, "pid.exit")
  for i = 1, 30 do
    local ev = seen[normal[i]]
    assert.eq(ev.kind, process.event.EXIT)
    assert.eq(ev.kind, "pid.exit")
    assert.eq(ev.from, normal[i])
    assert.eq(math.type(ev.at), "integer")
    assert(math.abs(ev.at - os.time()) < 60, "at is unix seconds")
    assert.same(keys_of(ev), { "at", "from", "kind", "result" })
    assert.same(keys_of(ev.result), { "value" })
    assert.eq(ev.result.value, i)
    assert.eq(ev.error, nil)
    assert.eq(tostring(ev.result), tostring(i))
    local bad = seen[failed[i]]
    assert.eq(bad.kind, "pid.exit")
    assert.eq(bad.from, failed[i])
    assert.same(keys_of(bad), { "at", "error", "from", "kind", "result" })
    assert.same(keys_of(bad.result), { "error" })
    assert.eq(bad.error, "lifecycle/workers.lua:6: boom " .. i)
    assert.eq(bad.result.error, bad.error)
    assert.eq(tostring(bad.result), bad.error)
    assert(rawequal(getmetatable(ev.result), getmetatable(bad.result)), "one result metatable")
  end
  return true
end

return M
