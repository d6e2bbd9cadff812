-- Helper processes for the payload suite.
local M = {}

local function nest(n)
  local t = { leaf = true }
  for _ = 2, n do t = { t } end
  return t
end

-- Echoes every inbox message back to its sender under topic "echo": one payload is sent back
-- as its payload object, several as separate payload objects. Topic "echo_array" sends back
-- the array of payload objects as a single payload. Topic "stop" ends the process.
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    local topic = msg:topic()
    if topic == "stop" then return true end
    local p = msg:payload()
    if topic == "echo_array" then
      assert(process.send(msg:from(), "echo", p))
    elseif topic == "echo_many" then
      assert(process.send(msg:from(), "echo", table.unpack(p, 1, 3)))
    else
      assert(process.send(msg:from(), "echo", p))
    end
  end
end

-- Reports its arguments back to `parent`: count, then the values packed into one table.
function M.args(parent, ...)
  local n = select("#", ...)
  local packed = { ... }
  local kinds = {}
  for i = 1, n do
    local v = packed[i]
    kinds[i] = math.type(v) or type(v)
  end
  process.send(parent, "args", n, packed, kinds)
  return true
end

-- Returns a value chosen by `kind`.
function M.returner(kind)
  if kind == "int" then return 42 end
  if kind == "float" then return 42.0 end
  if kind == "nothing" then return end
  if kind == "false" then return false end
  if kind == "string0" then return "a\0b" end
  if kind == "table" then
    local shared = { n = 1 }
    local t = { a = shared, b = shared, list = { 1, 2.5, "x" } }
    t.self = t
    return t
  end
  if kind == "meta" then return setmetatable({ v = 1 }, { __index = { hidden = 2 } }) end
  if kind == "function" then return { f = function() end } end
  if kind == "thread" then return coroutine.create(function() end) end
  if kind == "channel" then return channel.new() end
  if kind == "userdata" then return time.now() end
  if kind == "deep64" then return nest(64) end
  if kind == "deep65" then return nest(65) end
  error("unknown kind " .. tostring(kind))
end

-- Waits for one inbox message and returns its payload object (SPEC §5: sent as its value).
function M.relay()
  local msg = process.inbox():receive()
  return msg:payload()
end

-- Receives n messages on raw-mode topic "blocked", each while blocked (it tells `parent`
-- "ready" first, and the parent sends only then), and sends each value back on "back".
function M.blocked_echo(parent, n)
  local ch = process.listen("blocked")
  for _ = 1, n do
    process.send(parent, "ready", true)
    local v, ok = ch:receive()
    if ok ~= true then error("receive gave ok = " .. tostring(ok)) end
    process.send(parent, "back", v)
  end
  return true
end

-- As blocked_echo, with the receive inside a coroutine the script made (the block is passed
-- up to the scheduler by the coroutine wrapper).
function M.blocked_echo_in_coroutine(parent, n)
  local co = coroutine.wrap(function() return M.blocked_echo(parent, n) end)
  return co()
end

-- On a host with 8 MiB: holds ~6 MiB, then blocks in a receive (under pcall when
-- `catch`) of a message whose rebuild does not fit; reports what pcall caught. With
-- `queued`, it first waits for "go" (sent after the message), so the message is found
-- waiting instead.
function M.blocked_over_memory(parent, catch, queued)
  local ch = process.listen("big")
  local go = process.listen("go")
  local hold = {}
  for i = 1, 6 do hold[i] = string.rep(tostring(i), 1 << 20) end
  process.send(parent, "ready", true)
  if queued then go:receive() end
  if not catch then
    ch:receive()
    return "received"
  end
  local ok, err = pcall(ch.receive, ch)
  hold = nil
  process.send(parent, "caught", { ok = ok, err = tostring(err) })
  return #tostring(hold)
end

-- On a host with 8 MiB: holds ~6 MiB, receives one inbox message (its payload stays a
-- copy outside the heap) and calls its payload object's data() under pcall, whose rebuild
-- does not fit; reports what pcall caught.
function M.data_over_memory(parent)
  local hold = {}
  for i = 1, 6 do hold[i] = string.rep(tostring(i), 1 << 20) end
  process.send(parent, "ready", true)
  local p = process.inbox():receive():payload()
  local ok, err = pcall(p.data, p)
  hold = nil
  process.send(parent, "caught", { ok = ok, err = tostring(err) })
  return #tostring(hold)
end

-- Ends with a value whose rebuild takes ~4 MiB.
function M.exit_with_big()
  local big = {}
  for i = 1, 4000 do big[i] = string.rep("b", 1024) end
  return big
end

-- On a host with 8 MiB: holds ~6 MiB, monitors a child that ends with exit_with_big's value
-- and receives its EXIT under pcall (found waiting when `queued`, else while blocked);
-- reports what pcall caught.
function M.event_over_memory(parent, queued)
  local events = process.events()
  local hold = {}
  for i = 1, 6 do hold[i] = string.rep(tostring(i), 1 << 20) end
  assert(process.spawn_monitored("test.payload:workers:exit_with_big", "app:processes"))
  if queued then time.sleep("50ms") end
  local ok, err = pcall(events.receive, events)
  hold = nil
  process.send(parent, "caught", { ok = ok, err = tostring(err) })
  return #tostring(hold)
end

return M
