-- payload_queued N: N sends of {id = 1, name = "x", data = {1, 2, 3}} to this process, each
-- received at once (found waiting in the channel).
local function main(n)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <messages>" end
  local ch = process.listen("self")
  local me = process.pid()
  local msg = { id = 1, name = "x", data = { 1, 2, 3 } }
  for i = 1, n do
    process.send(me, "self", msg)
    local v = ch:receive()
    if v == msg or v.id ~= 1 or v.name ~= "x" or v.data[3] ~= 3 then
      return nil, "message " .. i .. " came back wrong"
    end
  end
  return { ops = n }
end

return { main = main }
