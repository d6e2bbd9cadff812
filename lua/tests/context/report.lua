-- What a process carries (SPEC §10.1), as a plain table that can be sent: its context values,
-- its actor's id and metadata, its scope's policy ids and what security.can answers.
local ctx = require("ctx")
local security = require("security")

local M = {}

function M.carried(tag)
  local values = ctx.all()
  local actor, scope = security.actor(), security.scope()
  local ids = false
  if scope then
    ids = {}
    for i, p in ipairs(scope:policies()) do ids[i] = p:id() end
  end
  return {
    tag = tag,
    values = values,
    actor = actor and actor:id() or false,
    meta = actor and actor:meta() or false,
    scope = ids,
    can_read = security.can("read", "doc.1"),
  }
end

-- Sends what the caller carries to `to` on topic "carried".
function M.send(to, tag)
  return process.send(to, "carried", M.carried(tag))
end

return M
