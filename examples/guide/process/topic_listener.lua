-- Runs the guide's topic listener ("토픽 구독을 통한 수신", app.test.process:listener_worker):
-- a message on another topic is not delivered to the listener; the one on "messages" is,
-- as the plain payload, and the worker returns true.
local function main()
    local events_ch = process.events()
    local worker_pid, err = process.spawn_monitored("app.test.process:listener_worker", "app:processes")
    if err then
        return false, "spawn failed: " .. err
    end

    process.send(worker_pid, "other_topic", "not for the listener")
    process.send(worker_pid, "messages", "hello listener")

    local timeout = time.after("2s")
    local result = channel.select {
        events_ch:case_receive(),
        timeout:case_receive(),
    }
    if result.channel == timeout then
        return false, "timeout waiting for the listener to exit"
    end
    local event = result.value
    if event.error then
        return false, "listener failed: " .. tostring(event.error)
    end
    print("Listener returned:", event.result)
    return true
end

return { main = main }
