local assert = require("assert")
local util = require("helpers").for_suite("test.sim:workers")
local sim = require("sim")

local M = {}

function M.enabled_and_seed_agree_with_the_mode()
  if sim.enabled() then
    assert.eq(math.type(sim.seed()), "integer", "seed in simulation")
  else
    assert.eq(sim.seed(), nil, "no seed outside simulation")
  end
  return true
end

function M.always_and_sometimes_return_cond()
  assert.eq(sim.always(42, "answer"), 42)
  assert.eq(sim.sometimes(false, "never_here"), false)
  assert.eq(sim.sometimes("x", "hit_here"), "x")
  return true
end

function M.names_are_checked_in_simulation()
  if not sim.enabled() then
    -- inert: nothing is checked, cond comes back
    assert.eq(sim.always(true, ""), true)
    return true
  end
  local msg = "sim.always: name must be a non-empty string without ',' or newline"
  assert.raises(function() sim.always(true, "") end, msg)
  assert.raises(function() sim.always(true, "a,b") end, msg)
  assert.raises(function() sim.sometimes(true, "a\nb") end,
    "sim.sometimes: name must be a non-empty string without ',' or newline")
  return true
end

function M.buggify_checks_arguments_and_is_off_without_the_fault()
  assert.raises(function() sim.buggify(12) end, "sim.buggify: name must be a string")
  assert.raises(function() sim.buggify("s", 2) end,
    "sim.buggify: probability must be between 0 and 1")
  -- No --faults buggify in the project's own runs: never fires.
  for _ = 1, 50 do assert.eq(sim.buggify(), false) end
  assert.eq(sim.buggify("named", 1), false)
  return true
end

function M.kill_delay_protect_are_inert_outside_simulation()
  if sim.enabled() then return true end
  local me = process.pid()
  assert.fails("sim: not in simulation", sim.kill(me))
  assert.fails("sim: not in simulation", sim.delay(me, "1ms"))
  assert.fails("sim: not in simulation", sim.protect())
  return true
end

function M.kill_ends_a_process_with_the_reason()
  if not sim.enabled() then return true end
  assert.fails("sim.kill requires a destination argument", sim.kill())
  local pid = util.spawn("sleeper", util.DEFAULT)
  assert.eq(sim.kill(pid), true)
  util.failed_with(pid, "sim: process killed")
  local other = util.spawn("sleeper", util.DEFAULT)
  assert.eq(sim.kill(other, "chaos"), true)
  util.failed_with(other, "chaos")
  return true
end

function M.delay_checks_arguments()
  if not sim.enabled() then return true end
  local me = process.pid()
  assert.fails("sim.delay requires destination and duration arguments", sim.delay(me))
  assert.fails("sim.delay: duration must be > 0", sim.delay(me, "0s"))
  assert.fails("time: invalid duration", sim.delay(me, "soon"))
  assert.eq(sim.protect(), true)
  return true
end

function M.delay_holds_a_message_back_and_keeps_the_senders_order()
  if not sim.enabled() then return true end
  local me = process.pid()
  local inbox = process.listen("d")
  assert.eq(sim.delay(me, "50ms"), true)
  local t0 = time.now()
  for i = 1, 3 do process.send(me, "d", i) end
  local got = {}
  for i = 1, 3 do got[i] = util.recv(inbox, "delayed message " .. i) end
  assert.eq(table.concat(got, ","), "1,2,3", "per-sender order")
  local waited = time.now():sub(t0):nanoseconds() // 1000000
  assert.truthy(waited >= 50, "the first message waited 50ms, got " .. tostring(waited))
  return true
end

return M
