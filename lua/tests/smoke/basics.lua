local assert = require("assert")
local function main()
  assert.eq(type(process.pid()), "string")
  assert.eq(process.id(), "test.smoke:basics")
  local ok, err = pcall(function() assert.eq(1, 2) end)
  assert.falsy(ok)
  assert.contains(err, "expected 2, got 1")
  return true
end
return { main = main }
