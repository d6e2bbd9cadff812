local assert = require("assert")
local M = {}

-- The smallest test: it runs as a process, sees its own entry id, and assert reports.
function M.a_test_runs_as_a_process_with_its_entry_id()
  assert.eq(type(process.pid()), "string")
  assert.eq(process.id(), "test.smoke:basics:a_test_runs_as_a_process_with_its_entry_id")
  local ok, err = pcall(function() assert.eq(1, 2) end)
  assert.falsy(ok)
  assert.contains(err, "expected 2, got 1")
  return true
end
return M
