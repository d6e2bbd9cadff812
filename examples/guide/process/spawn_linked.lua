-- Runs the guide's "연결된 프로세스 스폰" (spawn_linked) example: app.test.process:linked_parent
-- spawns child_worker linked (the guide's snippet) and then crashes; without trap_links the
-- child ends too, with "linked process failed". This runner watches both exits.
local function main()
    local events_ch = process.events()
    local child_ch = process.listen("child")

    local parent_pid, err = process.spawn_monitored(
        "app.test.process:linked_parent", "app:processes", process.pid())
    if err then
        return false, "spawn failed: " .. err
    end

    local child_pid = child_ch:receive()
    local ok, merr = process.monitor(child_pid)
    if not ok then
        return false, "monitor child failed: " .. tostring(merr)
    end
    process.send(parent_pid, "crash")

    local exits = {}
    local timeout = time.after("2s")
    while not (exits[parent_pid] and exits[child_pid]) do
        local result = channel.select {
            events_ch:case_receive(),
            timeout:case_receive(),
        }
        if result.channel == timeout then
            return false, "timeout waiting for the parent and child to exit"
        end
        local event = result.value
        if event.kind == process.event.EXIT then
            exits[event.from] = event.error or "normal"
        end
    end
    print("Parent exited:", exits[parent_pid])
    print("Child exited:", exits[child_pid])
    return true
end

return { main = main }
