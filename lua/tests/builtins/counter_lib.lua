-- A library with module-level state, for the require tests (SPEC §1).
LIB_LOADS = (LIB_LOADS or 0) + 1

local count = 0
local M = { loaded_at_load = LIB_LOADS }

function M.bump()
  count = count + 1
  return count
end

function M.count()
  return count
end

return M
