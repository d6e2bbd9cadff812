-- Guide: "프로세스 스폰" (spawn), the snippet as written inside main.
-- Run: ./target/debug/moonhost run examples/guide app.test.process:spawn_example
local function main()
    local pid, err = process.spawn("app.test.process:echo_worker", "app:processes", "hello")
    if err then
        return false, "spawn failed: " .. err
    end

    -- pid는 스폰된 프로세스의 문자열 식별자
    print("Started worker:", pid)
    return true
end

return { main = main }
