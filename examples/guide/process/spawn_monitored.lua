-- Guide: "모니터링과 함께 스폰" (spawn_monitored + EXIT), the snippet as written inside main;
-- the last print shows the worker's return value through event.result.
local function main()
    local events_ch = process.events()

    local worker_pid, err = process.spawn_monitored(
        "app.test.process:events_exit_worker",
        "app:processes"
    )
    if err then
        return false, "spawn failed: " .. err
    end

    -- EXIT 이벤트 대기
    local timeout = time.after("3s")
    local result = channel.select {
        events_ch:case_receive(),
        timeout:case_receive(),
    }

    if result.channel == timeout then
        return false, "timeout waiting for EXIT event"
    end

    local event = result.value
    if event.kind == process.event.EXIT then
        print("Worker exited:", event.from)
        if event.error then
            print("Exit error:", event.error)
        end
        -- event.result를 통해 반환 값 접근
    end

    print("Worker result:", event.result)
    return true
end

return { main = main }
