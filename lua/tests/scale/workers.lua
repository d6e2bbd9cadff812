-- Worker processes for the scale suite (one entry per method, see _index.yaml).
local M = {}

-- Blocks on its inbox, then ends returning the one payload it was sent.
function M.waiter()
  local msg = process.inbox():receive()
  return msg:payload():data()
end

-- Spins forever in its main coroutine.
function M.spin_plain()
  while true do end
end

-- Spins forever inside a coroutine it created and resumed itself.
function M.spin_coroutine()
  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)
  return "resume returned"
end

-- Spins forever inside a coroutine.wrap function.
function M.spin_wrap()
  local f = coroutine.wrap(function() while true do end end)
  f()
  return "wrap returned"
end

return M
