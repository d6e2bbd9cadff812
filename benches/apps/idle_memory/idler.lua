-- Tells the root it is about to block, then waits in its inbox forever.
local function main(root)
  local inbox = process.inbox()
  process.send(root, "ready")
  inbox:receive()
end

return { main = main }
