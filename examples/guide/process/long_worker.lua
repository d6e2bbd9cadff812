-- Worker for the guide's "명시적 모니터링" (explicit monitor) example: runs for a while
-- (default 200ms, or the duration given as its first argument), then exits normally.
local time = require("time")

local function main(duration)
    time.sleep(duration or "200ms")
    return "long work done"
end

return { main = main }
