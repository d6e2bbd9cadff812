local contexts = require("contexts")

local M = {}

-- Fails a blocking receive where it cannot yield, then spins forever: only preemption lets
-- the rest of the runtime go on.
function M.block_then_spin(ctx)
  contexts.run(ctx, function() return process.inbox():receive() end)
  while true do end
end

return M
