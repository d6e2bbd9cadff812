local report = require("report")

local HOST = "app:processes"
local PLAIN = { "spawn", "spawn_monitored", "spawn_linked", "spawn_linked_monitored" }

local M = {}

-- Reports what it carries, then ends.
function M.report(to, tag)
  report.send(to, tag)
end

-- Reports, then spawns the next level with a plain process.spawn* (a different variant at
-- each level) until `depth` levels exist.
function M.chain(to, depth, level)
  level = level or 1
  report.send(to, "level " .. level)
  if level < depth then
    local variant = PLAIN[(level - 1) % #PLAIN + 1]
    local pid, err = process[variant]("test.context:workers:chain", HOST, to, depth, level + 1)
    if not pid then process.send(to, "carried", { tag = "spawn failed: " .. tostring(err) }) end
  end
end

-- Builds a spawner from its own context plus `values` and spawns a reporter with it.
function M.rewrap(to, values)
  local pid, err = process.with_context(values):spawn("test.context:workers:report", HOST, to,
    "rewrapped")
  if not pid then process.send(to, "carried", { tag = "spawn failed: " .. tostring(err) }) end
end

-- Answers with what ctx.get gives for its values `n`, `off` and `t`, a missing key and "".
function M.ctx_probe(to)
  local ctx = require("ctx")
  local out = {}
  local n, n_err = ctx.get("n")
  out.n, out.n_err = n, tostring(n_err)
  local off, off_err = ctx.get("off")
  out.off, out.off_err = off, tostring(off_err)
  local t1 = ctx.get("t")
  t1.a = 2
  out.fresh = ctx.get("t").a == 1 and not rawequal(t1, ctx.get("t"))
  local _, missing = ctx.get("missing")
  out.missing_kind, out.missing = missing:kind(), tostring(missing)
  local _, empty = ctx.get("")
  out.empty_kind, out.empty = empty:kind(), empty:message()
  process.send(to, "carried", out)
end

-- Answers with ctx.all() after changing what an earlier call returned.
function M.ctx_all_probe(to)
  local ctx = require("ctx")
  local first, err = ctx.all()
  assert(err == nil)
  table.insert(first.t, 99)
  local second = ctx.all()
  process.send(to, "carried", { first = first.t, second = second.t, again = ctx.all().t })
end

-- Waits for one message, then ends.
function M.wait()
  process.inbox():receive()
end

-- Fails at once.
function M.fail()
  error("worker failed on purpose")
end

return M
