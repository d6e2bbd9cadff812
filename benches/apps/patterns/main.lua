-- Workloads: gsub1m (gsub("\n", " ") over 1 MiB of short lines), find1m (find("[y]") over
-- 1 MiB), gmatch64k (every "%a+" of 64 KiB of words), small (match, plain find and gsub on
-- a 9-byte string).
local M = {}
function M.main(what, n)
  n = tonumber(n)
  local r = 0
  if what == "gsub1m" then
    local s = ("abc\n"):rep(1 << 18)
    for i = 1, n do local _, k = s:gsub("\n", " ") r = r + k end
  elseif what == "find1m" then
    local s = ("x"):rep(1 << 20)
    for i = 1, n do if s:find("[y]") then r = r + 1 end end
  elseif what == "gmatch64k" then
    local s = ("word "):rep(1 << 14)
    for i = 1, n do for w in s:gmatch("%a+") do r = r + 1 end end
  elseif what == "small" then
    local s = "key=value"
    for i = 1, n do
      local k, v = s:match("(%w+)=(%w+)")
      if s:find("=", 1, true) and s:gsub("v", "V") then r = r + #k end
    end
  end
  return r
end
return M
