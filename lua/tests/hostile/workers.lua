-- The child of every attack: runs the attack's source as its whole body, with the parent's
-- PID as its argument.
local M = {}

function M.run(src, parent)
  local f = assert(load(src, "=attack"))
  return f(parent)
end

return M
