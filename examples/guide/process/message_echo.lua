-- Runs the guide's message-mode echo worker ("발신자 정보를 위한 메시지 모드",
-- app.test.process:echo_worker): sends "ping" on "echo" and prints what comes back on "reply".
local function main()
    local reply_ch = process.listen("reply")
    local worker_pid, err = process.spawn("app.test.process:echo_worker", "app:processes")
    if err then
        return false, "spawn failed: " .. err
    end

    process.send(worker_pid, "echo", "ping")

    local timeout = time.after("2s")
    local result = channel.select {
        reply_ch:case_receive(),
        timeout:case_receive(),
    }
    if result.channel == timeout then
        return false, "timeout waiting for the echo"
    end
    print("Echo reply:", result.value)
    return true
end

return { main = main }
