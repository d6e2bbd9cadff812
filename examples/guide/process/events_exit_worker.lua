-- Worker for the guide's "모니터링과 함께 스폰" (spawn_monitored) example: does a little
-- work and exits normally, so its monitor gets an EXIT event without an error.
local time = require("time")

local function main()
    time.sleep("20ms")
    return "events exit worker done"
end

return { main = main }
