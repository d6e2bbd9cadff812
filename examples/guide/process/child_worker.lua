-- Worker for the guide's "연결된 프로세스 스폰" (spawn_linked) example: waits until it is
-- told to stop on topic "stop" (or is taken down by a failed link partner).
local function main()
    local stop = process.listen("stop")
    stop:receive()
    return "child stopped"
end

return { main = main }
