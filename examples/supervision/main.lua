-- The root process: builds the tree, watches its events, crashes parts of it on purpose.
local supervisor = require("supervisor")

local top
local function who(pid) return pid == top and "top" or "pool" end

-- Prints one supervisor event.
local function show(ev)
  local line = "[" .. who(ev.supervisor) .. "] " .. ev.kind
  if ev.id then line = line .. " " .. ev.id .. " " .. ev.pid end
  if ev.kind == "child.start" then line = line .. " restarts=" .. ev.restarts end
  if ev.kind == "child.exit" then
    line = line .. " action=" .. ev.action
    if ev.delay then line = line .. " delay=" .. (ev.delay // 1000000) .. "ms" end
  end
  if ev.error then line = line .. " error=" .. ev.error end
  print(line)
end

local events = process.listen("supervisor.event")

-- Prints events until one of `kind` (for child `id`, from supervisor `sup`, when given)
-- arrives; returns it.
local function await(kind, id, sup)
  while true do
    local ev = events:receive()
    show(ev)
    if ev.kind == kind and (id == nil or ev.id == id) and (sup == nil or ev.supervisor == sup) then
      return ev
    end
  end
end

local function main()
  local me = process.pid()
  local pool = {
    strategy = "one_for_one", max_restarts = 2, period = "10s", notify = me,
    backoff = { initial = "10ms", factor = 2, jitter = 0.5 },
    children = {
      { id = "worker1", entry = "game:worker", args = { 1 } },
      { id = "worker2", entry = "game:worker", args = { 2 } },
      { id = "flaky", entry = "game:flaky", name = "flaky" },
    },
  }
  local err
  top, err = supervisor.start({
    strategy = "one_for_one", max_restarts = 3, period = "10s", notify = me, name = "top",
    children = {
      { id = "lobby", entry = "game:lobby", name = "lobby" },
      { id = "pool", supervisor = pool },
    },
  })
  assert(top, err)
  print("tree started, top supervisor " .. top)
  await("child.start", "pool")

  print("-- crash the lobby service (registered as 'lobby')")
  local before = process.registry.lookup("lobby")
  process.send("lobby", "crash")
  await("child.start", "lobby")
  local after = process.registry.lookup("lobby")
  print("lobby was " .. before .. ", now " .. after .. " under the same name: "
    .. tostring(before ~= after))

  print("-- crash the flaky pool worker until the pool gives up (max_restarts = 2)")
  for _ = 1, 3 do
    process.send("flaky", "job")
    local ev = await("child.exit", "flaky")
    if ev.action == "give_up" then break end
    await("child.start", "flaky")
  end
  await("supervisor.exit")
  print("-- escalation: the top supervisor restarts the pool")
  await("child.start", "pool")

  print("-- children of top:")
  for _, c in ipairs(supervisor.which_children("top")) do
    print("  " .. c.id .. " " .. c.kind .. " " .. c.status .. " restarts=" .. c.restarts)
  end
  supervisor.stop("top")
  await("supervisor.exit", nil, top)
  print("tree stopped")
end

return { main = main }
