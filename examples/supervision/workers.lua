-- The tree's workers. Each ends normally on CANCEL (the supervisor's shutdown) and
-- crashes when told to.
local function serve(name, on)
  local events, inbox = process.events(), process.inbox()
  while true do
    local r = channel.select { events:case_receive(), inbox:case_receive() }
    if r.channel == events then
      if r.value.kind == process.event.CANCEL then return end
    else
      on(r.value)
    end
  end
end

-- The registry-named service: answers "who" with its PID; crashes on "crash".
local function lobby()
  serve("lobby", function(m)
    if m:topic() == "crash" then error("lobby crashed on purpose", 0) end
    if m:topic() == "who" then process.send(m:from(), "lobby.pid", process.pid()) end
  end)
end

-- A pool worker that only waits.
local function worker(n)
  serve("worker " .. tostring(n), function() end)
end

-- A pool worker that crashes on purpose on every "job".
local function flaky()
  serve("flaky", function(m)
    if m:topic() == "job" then error("flaky worker crashed on purpose", 0) end
  end)
end

return { lobby = lobby, worker = worker, flaky = flaky }
