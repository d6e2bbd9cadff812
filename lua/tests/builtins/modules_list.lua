-- SPEC §1: listing built-ins under `modules` is allowed and harmless. This test keeps the
-- Wippy test-entry format (one YAML entry naming its method, see _index.yaml) because the
-- entry's own `modules` field is what it checks.
local require_ = require
local assert = require_("assert")

local M = {}

function M.modules_list_harmless()
  -- this entry lists the built-ins time and uuid under `modules`
  assert.truthy(rawequal(require_("time"), time))
  assert.eq(type(require_("uuid").v4()), "string")
  local ok, err = pcall(require_, "not_a_module")
  assert.eq(ok, false)
  assert.contains(tostring(err), "module 'not_a_module' not found")
  return true
end

return M
