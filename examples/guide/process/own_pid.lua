-- Guide: "자신의 PID 가져오기" (own PID), the snippet as written inside main.
local function main()
    local my_pid = process.pid()
    -- 현재 프로세스의 문자열 PID 반환
    print("My PID:", my_pid)
    return true
end

return { main = main }
