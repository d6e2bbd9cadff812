-- Guide: "이름 등록 해제" (unregister), the snippet as written inside main, after registering
-- test_name the way the guide's "이름 등록" example does. A second unregister of the same
-- name takes the guide's "Name was not registered" branch.
local function main()
    local test_name = "my_service_" .. tostring(os.time())
    local ok, reg_err = process.registry.register(test_name)
    if reg_err then
        return false, "register failed: " .. reg_err
    end
    print("Registered:", test_name)

    -- 명시적 등록 해제
    local unregistered = process.registry.unregister(test_name)
    if not unregistered then
        print("Name was not registered")
    end

    -- 등록 해제 후 조회는 nil + error 반환
    local pid, err = process.registry.lookup(test_name)
    -- pid는 nil, err는 non-nil

    if pid ~= nil or err == nil then
        return false, "lookup after unregister should give nil + error"
    end
    print("Lookup after unregister:", pid, err)

    -- Unregistering again removes nothing.
    local unregistered = process.registry.unregister(test_name)
    if not unregistered then
        print("Name was not registered")
    end
    return true
end

return { main = main }
