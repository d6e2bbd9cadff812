-- Runs one attack in a child on a watched runtime: the caller's 10 ms ticker must stay on
-- time, the child must end within 15 s with an error matching `expect`, no message may
-- reach the caller, and every shared library table must be as it was.
local assert = require("assert")

local M = {}

local HOST = "app:processes"
local TICK_NS = 10 * 1000 * 1000
local LATE_NS = 100 * 1000 * 1000

local LIBS = { "string", "table", "math", "utf8", "os", "coroutine", "debug", "process",
  "channel", "time" }

-- Every field of every shared library, by identity.
local function snapshot()
  local shot = {}
  for _, lib in ipairs(LIBS) do
    for k, v in pairs(_G[lib]) do shot[lib .. "." .. tostring(k)] = v end
  end
  for k, v in pairs(process.registry) do shot["process.registry." .. k] = v end
  return shot
end

local function same_libs(before)
  local now = snapshot()
  for k, v in pairs(before) do
    if not rawequal(now[k], v) then error("shared table changed: " .. k, 3) end
  end
  for k in pairs(now) do
    if before[k] == nil then error("shared table gained " .. k, 3) end
  end
  assert.eq(string.upper("a"), "A", "string.upper still works")
  assert.eq(("a"):upper(), "A", "string methods still work")
end

-- Runs `src` (given the parent's PID as `...`) in a child on `opts.host` (default
-- app:processes); returns its EXIT event after the checks above. `expect` is a plain
-- substring of the child's error, or a function checking the event.
function M.run(src, expect, opts)
  opts = opts or {}
  local before = snapshot()
  local inbox = process.inbox()
  local pid = assert(process.spawn_monitored("test.hostile:workers:run", opts.host or HOST, src,
    process.pid()))
  local tk = time.ticker(TICK_NS)
  local ticks = tk:channel()
  local events = process.events()
  local deadline = time.after("15s")
  local last, worst = time.now(), 0
  local ev
  while not ev do
    local r = channel.select { events:case_receive(), ticks:case_receive(), deadline:case_receive() }
    if r.channel == deadline then error("the attack did not end within 15s", 2) end
    local now = time.now()
    local late = now:sub(last):nanoseconds() - TICK_NS
    if late > worst then worst = late end
    if r.channel == events and r.value ~= nil then
      assert.eq(r.value.from, pid, "the only event is the child's")
      ev = r.value
    elseif r.channel == ticks then
      last = now
    end
  end
  tk:stop()
  if worst > LATE_NS then
    error(("the ticker was %d ms late"):format(worst // 1000000), 2)
  end
  assert.eq(ev.kind, process.event.EXIT)
  if type(expect) == "function" then
    expect(ev)
  else
    local err = tostring(ev.result.error)
    if ev.result.error == nil or not err:find(expect, 1, true) then
      error("expected the child to fail with '" .. expect .. "', got " .. assert.show(ev.result), 2)
    end
  end
  local r = channel.select { inbox:case_receive(), default = true }
  if not r.default then error("a message reached the parent: " .. r.value:topic(), 2) end
  same_libs(before)
  return ev
end

return M
