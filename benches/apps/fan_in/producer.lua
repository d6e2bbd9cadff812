-- Sends 1..m to the consumer on topic "m".
local function main(consumer, m)
  for i = 1, m do
    process.send(consumer, "m", i)
  end
end

return { main = main }
