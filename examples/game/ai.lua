local M = {}

-- The AI: every input event from the game gets a decision back on topic "move".
function M.main()
  local input = process.listen("input")
  local x = 0
  while true do
    local ev = input:receive()
    if ev.key == "quit" then return x end
    if ev.key == "right" then x = x + 1 elseif ev.key == "left" then x = x - 1 end
    process.send("game", "move", { frame = ev.frame, x = x })
  end
end

-- A mod script with a bug: it never yields. Preemption keeps the frames on time.
function M.runaway()
  local n = 0
  while true do n = n + 1 end
end

-- Every 250 ms of game time, a new wave.
function M.waves()
  local tick = time.ticker("250ms")
  local wave = 0
  while true do
    tick:channel():receive()
    wave = wave + 1
    process.send("game", "wave", wave)
  end
end

return M
