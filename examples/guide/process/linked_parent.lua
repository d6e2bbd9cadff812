-- The parent of the guide's "연결된 프로세스 스폰" (spawn_linked) example. Its first
-- statements are the guide's snippet; then it tells the runner (app.test.process:spawn_linked)
-- its child's PID, waits for the word "crash", and crashes, which takes the linked child down.
local function main(runner_pid)
    -- 부모가 크래시하면 자식도 종료 (trap_links가 설정되지 않은 경우)
    local pid, err = process.spawn_linked("app.test.process:child_worker", "app:processes")
    if err then
        return false, "spawn_linked failed: " .. err
    end

    process.send(runner_pid, "child", pid)
    process.listen("crash"):receive()
    error("parent crashed on purpose")
end

return { main = main }
