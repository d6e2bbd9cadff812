-- Upgrade targets whose chunk returns `code_change`: the new main runs
-- method(code_change(old_entry_id, ...)).
local M = {}

function M.code_change(old, tester, state)
  if state.hits < 0 then error("cannot migrate") end
  return tester, { from = old, hits = state.hits + 1 }
end

-- Reports the migrated state.
function M.migrated(tester, state)
  process.send(tester, "migrated", state)
  process.inbox():receive()
end


return M
