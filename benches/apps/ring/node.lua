-- A ring node: learns its successor, then forwards the token (hops left) until it reaches 0,
-- which it reports to the root.
local function main(root)
  local token = process.listen("token")
  local succ = process.listen("next"):receive()
  while true do
    local left = token:receive()
    if left == 0 then
      process.send(root, "done", true)
      return
    end
    process.send(succ, "token", left - 1)
  end
end

return { main = main }
