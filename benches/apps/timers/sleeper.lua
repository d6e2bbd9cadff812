-- Sleeps d nanoseconds and reports to the root how late it woke (negative = early) and its
-- deadline (unix nanoseconds).
local function main(root, d)
  local t0 = time.now()
  time.sleep(d)
  local late = time.now():sub(t0):nanoseconds() - d
  process.send(root, "late", late, t0:unix_nano() + d)
end

return { main = main }
