-- moonhost assertion library for Lua suites.
--
-- A callable table: `assert(v, msg)` still works like Lua's; `assert.eq(a, b)`,
-- `assert.same(a, b)` (deep), `assert.raises(fn, pattern)`, `assert.near(a, b, eps)`,
-- `assert.truthy(v)`, `assert.falsy(v)`, `assert.contains(s, sub)`.
-- Failures raise an error that names expected and actual values and points at the caller.

local M = {}

local function show(v, seen, depth)
  seen = seen or {}
  depth = depth or 0
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth > 3 then return "{...}" end
  seen[v] = true
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  local parts = {}
  for _, k in ipairs(keys) do
    local ks = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. show(k, seen, depth + 1) .. "]")
    parts[#parts + 1] = ks .. " = " .. show(v[k], seen, depth + 1)
  end
  seen[v] = nil
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.show = show

local function fail(msg, level)
  error(msg, (level or 2) + 1)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_equal(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

function M.eq(actual, expected, msg)
  if actual ~= expected then
    fail((msg and msg .. ": " or "") .. "expected " .. show(expected) .. ", got " .. show(actual), 2)
  end
  return actual
end

function M.ne(actual, unexpected, msg)
  if actual == unexpected then
    fail((msg and msg .. ": " or "") .. "expected anything but " .. show(unexpected), 2)
  end
  return actual
end

function M.same(actual, expected, msg)
  if not deep_equal(actual, expected) then
    fail((msg and msg .. ": " or "") .. "expected " .. show(expected) .. ", got " .. show(actual), 2)
  end
  return actual
end

function M.truthy(v, msg)
  if not v then fail((msg and msg .. ": " or "") .. "expected a truthy value, got " .. show(v), 2) end
  return v
end

function M.falsy(v, msg)
  if v then fail((msg and msg .. ": " or "") .. "expected a falsy value, got " .. show(v), 2) end
  return v
end

function M.near(actual, expected, eps, msg)
  eps = eps or 1e-9
  if type(actual) ~= "number" or math.abs(actual - expected) > eps then
    fail((msg and msg .. ": " or "") .. "expected " .. show(expected) .. " +/- " .. tostring(eps)
      .. ", got " .. show(actual), 2)
  end
  return actual
end

function M.contains(s, sub, msg)
  if type(s) ~= "string" or not s:find(sub, 1, true) then
    fail((msg and msg .. ": " or "") .. "expected " .. show(s) .. " to contain " .. show(sub), 2)
  end
  return s
end

-- Calls fn(...) and expects it to raise; the message must contain `pattern` (plain text)
-- when given. Returns the error value.
function M.raises(fn, pattern, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail("expected an error" .. (pattern and (" matching " .. show(pattern)) or ""), 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    fail("expected an error containing " .. show(pattern) .. ", got " .. show(tostring(err)), 2)
  end
  return err
end

-- Expects `nil, err` (or `false, err`) with err containing `pattern`.
function M.fails(pattern, v, err)
  if v then fail("expected a failure " .. show(pattern) .. ", got " .. show(v), 2) end
  if type(err) ~= "string" or not err:find(pattern, 1, true) then
    fail("expected error " .. show(pattern) .. ", got " .. show(err), 2)
  end
  return err
end

return setmetatable(M, {
  __call = function(_, v, msg, ...)
    if not v then error(msg or "assertion failed!", 2) end
    return v, msg, ...
  end,
})
