-- Workers of the limits suite. Each hostile one misbehaves in exactly one way; `echo` and
-- `count_to` are the well-behaved siblings that show the rest of the app still runs.
local M = {}

-- n nested tables: {{{...}}} (n = 1 is a flat table).
local function nest(n)
  local t = { leaf = true }
  for _ = 2, n do t = { t } end
  return t
end

-- Holds n MiB in n distinct 1 MiB strings (no temporaries: long strings are not interned).
local function fill(mib)
  local keep = {}
  for i = 1, mib do keep[i] = string.rep("x", 1 << 20) end
  return keep
end

-- Answers every inbox message with topic "pong" and the same payload.
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "pong", msg:payload())
  end
end

-- Blocks forever.
function M.sleeper()
  channel.new():receive()
end

-- Runs a finite loop and returns how many rounds it made.
function M.count_to(n)
  local c = 0
  for _ = 1, n do c = c + 1 end
  return c
end

------------------------------------------------------------------------------------------
-- memory

-- Allocates without bound, in the way `kind` names.
function M.hog(kind)
  local keep, i = {}, 0
  if kind == "strings" then
    while true do
      i = i + 1
      keep[i] = string.rep("x", 1 << 20)
    end
  elseif kind == "tables" then
    while true do
      i = i + 1
      keep[i] = { i, i * 2, i * 3 }
    end
  elseif kind == "doubling" then
    local s = "x"
    while true do
      s = s .. s
      keep[#keep + 1] = s
    end
  elseif kind == "one_string" then
    keep[1] = string.rep("x", 64 << 20)
  end
  return "allocated and still alive"
end

-- Holds mib MiB, then returns how many MiB it held.
function M.fill(mib)
  return #fill(mib)
end

-- Holds mib MiB, drops it, tells parent "dropped", waits for "go", then holds mib MiB again.
-- It never holds more than mib MiB of live data at once.
function M.refill(parent, mib)
  local go = process.listen("go")
  local keep = fill(mib)
  keep = nil
  process.send(parent, "dropped", keep == nil)
  go:receive()
  keep = fill(mib)
  return #keep
end

-- Runs a full collection (which may free garbage other processes left), then asks for one
-- string of mib MiB.
function M.collect_then_allocate(mib)
  collectgarbage()
  local s = string.rep("x", mib << 20)
  return #s
end

------------------------------------------------------------------------------------------
-- instructions

-- An endless loop that never blocks.
function M.looper()
  while true do end
end

-- Bursts of ~20,000 instructions, each reported to parent as "round", with a sleep between.
function M.bursts(parent)
  local round = 0
  while true do
    for _ = 1, 20000 do end
    round = round + 1
    process.send(parent, "round", round)
    time.sleep("1ms")
  end
end

-- An endless loop inside pcall, restarted each time pcall catches an error; gives up and
-- returns after `tries` caught errors.
function M.pcall_looper(tries)
  local caught = 0
  while caught < tries do
    pcall(function() while true do end end)
    caught = caught + 1
  end
  return "caught " .. caught .. " errors and went on"
end

-- `rounds` fresh coroutines that each run ~9,000 instructions.
function M.fresh_coroutines(rounds)
  for _ = 1, rounds do
    coroutine.wrap(function() for _ = 1, 9000 do end end)()
  end
  return "ran " .. rounds .. " coroutines"
end

-- An endless loop where the process cannot yield: inside a table.sort comparator.
function M.sort_looper()
  table.sort({ 3, 2, 1 }, function() while true do end end)
  return "sorted"
end

-- As sort_looper, but the comparator restarts the loop under pcall each time an error is
-- caught; after `seconds` of CPU time it gives up, tells parent "gave_up", and returns.
function M.sort_pcall_looper(parent, seconds)
  local caught, t0 = 0, os.clock()
  table.sort({ 3, 2, 1 }, function(a, b)
    while os.clock() - t0 < seconds do
      pcall(function() while true do end end)
      caught = caught + 1
    end
    if caught >= 0 then
      process.send(parent, "gave_up", caught .. " errors caught in " .. seconds .. " s")
      caught = -1
    end
    return a < b
  end)
  return "sorted"
end

------------------------------------------------------------------------------------------
-- mailbox

-- Receives nothing until told "go"; then drains everything waiting (inbox and the listened
-- topic "side") and sends it to parent as "got" {inbox = {...}, side = {...}}; repeats.
function M.collector(parent)
  local go, side, inbox = process.listen("go"), process.listen("side"), process.inbox()
  process.send(parent, "ready", true)
  while true do
    go:receive()
    local got = { inbox = {}, side = {} }
    while true do
      local r = channel.select { inbox:case_receive(), side:case_receive(), default = true }
      if r.default then break end
      if r.channel == inbox then
        got.inbox[#got.inbox + 1] = r.value:payload():data()
      else
        got.side[#got.side + 1] = r.value
      end
    end
    process.send(parent, "got", got)
  end
end

-- Sends 1..n to target as "data", failing on the first refused send.
function M.flooder(target, n)
  for i = 1, n do
    assert(process.send(target, "data", i))
  end
  return "sent all " .. n
end

------------------------------------------------------------------------------------------
-- payloads

-- Sends parent a table nested n deep, failing if the send is refused.
function M.deep_sender(parent, n)
  assert(process.send(parent, "deep", nest(n)))
  return "sent"
end

-- Returns a table nested n deep.
function M.deep_returner(n)
  return nest(n)
end

-- Returns a string of n bytes.
function M.big_returner(n)
  return string.rep("x", n)
end

-- Tries sends and a spawn around this host's payload limits (1000 bytes, depth 5); returns
-- "ok" or the error of each attempt, in order. Accepted sends reach parent as "probe".
function M.payload_probe(parent)
  local r = {}
  local function try(ok, err) r[#r + 1] = ok and "ok" or err end
  try(process.send(parent, "probe", string.rep("a", 984)))             -- 16 + 984 = 1000
  try(process.send(parent, "probe", string.rep("b", 985)))             -- 1001
  try(process.send(parent, "probe", string.rep("c", 484), string.rep("d", 484))) -- 1000
  try(process.send(parent, "probe", { string.rep("e", 900), string.rep("f", 100) }))
  try(process.send(parent, "probe", nest(5)))
  try(process.send(parent, "probe", nest(6)))
  try(process.spawn("test.limits:workers:count_to", "app:processes", string.rep("g", 985)))
  try(process.spawn("test.limits:workers:count_to", "app:processes", nest(6)))
  return r
end

-- Forwards the payload objects of the next two inbox messages to parent as "forwarded";
-- returns "ok" or the error of each send.
function M.forwarder(parent)
  local inbox, r = process.inbox(), {}
  for i = 1, 2 do
    local msg = inbox:receive()
    local ok, err = process.send(parent, "forwarded", msg:payload())
    r[i] = ok and "ok" or err
  end
  return r
end

return M
