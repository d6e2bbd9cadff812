-- Worker for the guide's trap_links example: fails at once, so every linked partner gets
-- LINK_DOWN (or, without trap_links, fails with "linked process failed").
local function main()
    error("error_exit_worker failed on purpose")
end

return { main = main }
