local security = require("security")

local M = {}

-- Answers with what security.actor(), security.scope() and security.can give it.
function M.probe(to)
  local a1, a2 = security.actor(), security.actor()
  local s = security.scope()
  local out = {
    actor = a1 and a1:id() or false,
    fresh = a1 ~= nil and not rawequal(a1, a2),
    meta = a1 and a1:meta() or false,
    scope = false,
    read_doc = security.can("read", "doc.1"),
    read_secret = security.can("read", "doc.secret"),
    write_user = security.can("write", "user:7", { any = "meta" }),
  }
  if s then
    out.scope = {}
    for i, p in ipairs(s:policies()) do out.scope[i] = p:id() end
  end
  process.send(to, "probe", out)
end

return M
