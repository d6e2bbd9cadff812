-- Runs the guide's inbox + select worker ("인박스를 통한 수신", app.test.process:inbox_worker),
-- which loops forever: sends it one message on "specific_topic" (its listener channel) and
-- one on "other_topic" (its inbox), lets it handle them, then terminates it.
local function main()
    local events_ch = process.events()
    local worker_pid, err = process.spawn_monitored("app.test.process:inbox_worker", "app:processes")
    if err then
        return false, "spawn failed: " .. err
    end

    process.send(worker_pid, "specific_topic", "to the listener")
    process.send(worker_pid, "other_topic", "to the inbox")

    -- The worker never ends by itself; give it time to take both messages, then stop it.
    time.sleep("100ms")
    local ok, terr = process.terminate(worker_pid)
    if not ok then
        return false, "terminate failed: " .. tostring(terr)
    end

    local timeout = time.after("2s")
    local result = channel.select {
        events_ch:case_receive(),
        timeout:case_receive(),
    }
    if result.channel == timeout then
        return false, "timeout waiting for the worker's EXIT"
    end
    print("Worker stopped:", result.value.error)
    return true
end

return { main = main }
