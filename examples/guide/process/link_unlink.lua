-- Guide: "명시적 연결" (link / unlink), the snippet as written inside main. target_pid is an
-- error_exit_worker (it fails as soon as it runs); it is unlinked before it runs, so its
-- failure does not take this process down, and the monitor shows its EXIT.
local function main()
    local events_ch = process.events()
    local target_pid = process.spawn_monitored("app.test.process:error_exit_worker", "app:processes")

    -- 기존 프로세스에 연결
    local ok, err = process.link(target_pid)
    if err then
        return false, "link failed: " .. err
    end
    print("Linked:", ok)

    -- 연결 해제
    local ok, err = process.unlink(target_pid)
    print("Unlinked:", ok)

    local timeout = time.after("2s")
    local result = channel.select {
        events_ch:case_receive(),
        timeout:case_receive(),
    }
    if result.channel == timeout then
        return false, "timeout waiting for the target's EXIT"
    end
    print("Target failed:", result.value.error)
    print("Still running after the unlinked target failed")
    return true
end

return { main = main }
