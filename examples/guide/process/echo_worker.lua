-- Guide: "발신자 정보를 위한 메시지 모드" (message mode), code as written.
-- The spawn example starts it with the argument "hello", which main ignores.
-- 메시지를 발신자에게 에코하는 워커
local function main()
    local ch = process.listen("echo", { message = true })

    local msg = ch:receive()
    if msg then
        local sender = msg:from()
        local payload = msg:payload()

        if sender then
            process.send(sender, "reply", payload)
        end
        return true
    end

    return false
end

return { main = main }
