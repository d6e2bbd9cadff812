-- Places where Lua runs called from C and so cannot yield, each running `f` there once
-- under pcall and returning what pcall returned.
local M = {}

M.names = { "sort", "gsub", "load", "tostring", "wrap_in_sort" }

function M.run(ctx, f)
  local done, ok, err = false, nil, nil
  local function once()
    if not done then
      done = true
      ok, err = pcall(f)
    end
  end
  if ctx == "sort" then
    table.sort({ 3, 1, 2 }, function(a, b) once(); return a < b end)
  elseif ctx == "gsub" then
    string.gsub("abc", "b", function() once(); return "x" end)
  elseif ctx == "load" then
    load(function() once(); return nil end)
  elseif ctx == "tostring" then
    tostring(setmetatable({}, { __tostring = function() once(); return "t" end }))
  elseif ctx == "wrap_in_sort" then
    -- The inner coroutine can yield, the comparator around it cannot.
    table.sort({ 2, 1 }, function(a, b)
      coroutine.wrap(function() once() end)()
      return a < b
    end)
  else
    error("unknown context " .. tostring(ctx))
  end
  assert(done, ctx .. ": the callback never ran")
  return ok, err
end

return M
