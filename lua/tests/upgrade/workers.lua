-- Worker processes of the upgrade suite. This chunk returns no `code_change`: an upgrade into
-- one of its entries calls the method with the upgrade arguments as given.
local M = {}
local W = "test.upgrade:workers:"

-- Sets up everything an upgrade must keep (a name, a subscription, trap_links, a monitor of
-- `tester`) and everything it must drop (a timer, a ticker, a private channel, a second
-- task, a global), tells `tester`, then upgrades to `after` on the first inbox message.
function M.before(tester)
  process.registry.register("upgrade.keeper", process.pid())
  process.listen("news")
  process.set_options({ trap_links = true })
  process.monitor(tester)
  leftover = "old global"
  local _timer, _ticker = time.after("10s"), time.ticker("1s")
  coroutine.spawn(function() channel.new():receive() end)
  process.send(tester, "ready", process.pid())
  local go = process.inbox():receive()
  process.upgrade(W .. "after", tester, go:payload():data())
  error("process.upgrade returned")
end

-- Reports what it kept after the upgrade, then the messages that waited for it.
function M.after(tester, note)
  local i = process.info(process.pid())
  process.send(tester, "after", {
    pid = process.pid(), id = process.id(), entry = i.entry, note = note,
    upgrades = i.upgrades, timers = i.timers, tasks = i.tasks, names = i.names,
    trap = process.get_options().trap_links, leftover = leftover or "none",
  })
  local news = process.listen("news")
  local a = process.inbox():receive()
  local b = process.inbox():receive()
  process.send(tester, "kept", { a:topic(), b:topic(), (news:receive()) })
  process.inbox():receive()
end

-- Counts its own upgrades: `process.upgrade()` restarts this same code in place.
function M.restarter(tester, n)
  n = n or 0
  process.send(tester, "round", { n = n, upgrades = process.info(process.pid()).upgrades })
  if n < 2 then process.upgrade(nil, tester, n + 1) end
  process.inbox():receive()
end

-- Tries upgrades that must fail, reporting each `nil, err`; still in its old code after.
function M.refused(tester)
  local results = {}
  local function try(...)
    local v, err = process.upgrade(...)
    results[#results + 1] = { v == nil, err }
  end
  try("test.upgrade:nowhere")
  try("test.upgrade:shared")
  try("supervisor")
  try(nil, function() end)
  try(W .. "after", tester, coroutine.create(function() end))
  local ok, err = pcall(table.sort, { 2, 1 }, function(a, b)
    process.upgrade(W .. "after", tester)
    return a < b
  end)
  results[#results + 1] = { ok, err }
  ok, err = pcall(process.upgrade, 42)
  results[#results + 1] = { ok, err }
  process.send(tester, "refused", { results = results, id = process.id(),
    upgrades = process.info(process.pid()).upgrades })
  process.inbox():receive()
end

-- Holds a to-be-closed variable that tells `tester` when the upgrade closes it, and one
-- whose close handler raises (ignored), then upgrades from a `coroutine.spawn` task.
function M.closer(tester)
  local raising <close> = setmetatable({}, { __close = function() error("ignored") end })
  local guard <close> = setmetatable({}, {
    __close = function() process.send(tester, "closed", "main") end,
  })
  coroutine.spawn(function()
    local inner <close> = setmetatable({}, {
      __close = function() process.send(tester, "closed", "task") end,
    })
    process.inbox():receive()
    process.upgrade(W .. "done", tester)
  end)
  process.events():receive()
end

-- Says it runs, then waits to be stopped.
function M.done(tester)
  process.send(tester, "done", { id = process.id(), tasks = process.info(process.pid()).tasks })
  process.inbox():receive()
end

-- Upgrades into the migrating file's entry named by the first inbox message.
function M.migrator(tester)
  local m = process.inbox():receive()
  local v, err = process.upgrade("test.upgrade:migrating:" .. m:topic(), tester,
    m:payload():data())
  process.send(tester, "refused", err or tostring(v))
end

-- Answers every pid.reload event by upgrading to its own (reloaded) code.
function M.reloader(tester)
  local ev = process.events():receive()
  process.upgrade(nil, tester, ev)
end

-- Fills a private channel's buffer up to the process's quota of waiting values, reports how
-- many fit, then upgrades in place; after the upgrade (round 1) the dropped channel's values
-- must no longer count, so a new channel takes 100 more.
function M.buffer_filler(tester, round)
  local ch = channel.new(1 << 20)
  local n, err = 0, nil
  local limit = round == 1 and 100 or math.huge
  while n < limit do
    local ok, e = ch:send(true)
    if not ok then err = e break end
    n = n + 1
  end
  process.send(tester, "filled", { round = round or 0, n = n, err = err })
  if not round then process.upgrade(nil, tester, 1) end
  process.inbox():receive()
end

return M
