-- Guide: "명시적 모니터링" (explicit monitor) and "모니터링 중지" (unmonitor), the snippets as
-- written inside main. Part 1 monitors a long_worker and then unmonitors it: no EXIT arrives.
-- Part 2 monitors a second long_worker and receives its EXIT.
local function main()
    local events_ch = process.events()

    -- 모니터링 없이 스폰
    local worker_pid, err = process.spawn("app.test.process:long_worker", "app:processes")
    if err then
        return false, "spawn failed: " .. err
    end

    -- 명시적으로 모니터링 추가
    local ok, monitor_err = process.monitor(worker_pid)
    if monitor_err then
        return false, "monitor failed: " .. monitor_err
    end

    -- 이제 이 워커의 EXIT 이벤트를 수신함
    print("Monitoring:", worker_pid)

    local ok, err = process.unmonitor(worker_pid)
    print("Unmonitored:", ok)

    -- long_worker ends after 200ms; after unmonitor its EXIT must not arrive.
    local quiet = time.after("400ms")
    local result = channel.select {
        events_ch:case_receive(),
        quiet:case_receive(),
    }
    if result.channel == events_ch then
        return false, "EXIT arrived after unmonitor from " .. tostring(result.value.from)
    end
    print("No EXIT after unmonitor")

    -- Part 2: a monitored worker's EXIT does arrive.
    local second_pid = process.spawn("app.test.process:long_worker", "app:processes", "50ms")
    local ok2, monitor_err2 = process.monitor(second_pid)
    if monitor_err2 then
        return false, "monitor failed: " .. monitor_err2
    end
    local timeout = time.after("2s")
    result = channel.select {
        events_ch:case_receive(),
        timeout:case_receive(),
    }
    if result.channel == timeout then
        return false, "timeout waiting for EXIT of the monitored worker"
    end
    print("Monitored worker exited:", result.value.from, result.value.result)
    return true
end

return { main = main }
