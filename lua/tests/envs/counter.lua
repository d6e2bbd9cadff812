-- A module with state: each process that requires it must get its own copy.
local M = { n = 0, loads = 0 }
-- Counts how often this chunk ran in the process (once per process cache).
M.inner = require("inner")
M.inner.loads = M.inner.loads + 1

function M.bump()
  M.n = M.n + 1
  return M.n
end

-- `load` called from module code: the default environment is the process's globals.
function M.load_here(src)
  return load(src)
end

return M
