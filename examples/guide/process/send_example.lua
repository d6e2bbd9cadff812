-- Guide: "메시지 보내기" (send). The guide's statements are unchanged; worker_pid comes from
-- spawning the guide's topic listener (app.test.process:listener_worker), and the runner
-- waits for that worker's EXIT so its "Received: hello from parent" line is printed.
local function main()
    local events_ch = process.events()
    local worker_pid = process.spawn_monitored("app.test.process:listener_worker", "app:processes")

    -- PID로 프로세스에 전송
    local sent, err = process.send(worker_pid, "messages", "hello from parent")
    if err then
        return false, "send failed: " .. err
    end

    -- send는 (bool, error) 반환
    print("Sent:", sent)

    local event = events_ch:receive()
    print("Worker exited:", event.from, event.result)
    return true
end

return { main = main }
