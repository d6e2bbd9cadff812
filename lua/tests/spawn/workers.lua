-- Worker processes spawned by the spawn suite (one entry per method in _index.yaml).
local M = {}

-- Ends normally with {n = <argument count>, args = {...}}; observed through EXIT.
function M.return_args(...)
  return { n = select("#", ...), args = { ... } }
end

-- Sends {n = <count of the remaining arguments>, args = {...}} to `parent` on topic "args".
function M.report_args(parent, ...)
  process.send(parent, "args", { n = select("#", ...), args = { ... } })
end

-- Changes its table argument and returns it.
function M.mutate_arg(t)
  t.a = "changed by child"
  t.nested.b = "changed by child"
  return t
end

-- Blocks until any inbox message arrives, then ends normally.
function M.waiter()
  process.inbox():receive()
  return "stopped"
end

function M.instant()
  return "done"
end

-- Returns its arguments (the first is the exit's value).
function M.echo(...)
  return ...
end

function M.instant_fail()
  error("instant failure")
end

-- Sends {pid = process.pid(), id = process.id()} to `parent` on topic "info".
function M.self_info(parent)
  process.send(parent, "info", { pid = process.pid(), id = process.id() })
end

-- Receives `n` raw values on `topic` and sends the list back to `parent` on "collected".
function M.collect(parent, topic, n)
  local ch = process.listen(topic)
  local got = {}
  for i = 1, n do
    got[i] = ch:receive()
  end
  process.send(parent, "collected", got)
end

-- A function.lua entry that is spawned rather than called.
function M.fn_report(parent)
  process.send(parent, "fn", process.id())
end

-- spawn_links a child that fails at once, then blocks; it should be killed by the link.
function M.linked_parent()
  process.spawn_linked("test.spawn:workers:instant_fail", "app:processes")
  process.inbox():receive()
  return "not killed"
end

-- Asks `target` to cancel, with `reason`.
function M.canceller(target, reason)
  return process.cancel(target, reason)
end

return M
