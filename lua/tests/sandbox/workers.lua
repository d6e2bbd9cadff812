-- Workers of the sandbox suite: probes of what a process on some host can reach, and
-- scripts that try what the sandbox forbids.
local M = {}

-- Answers every inbox message with topic "pong" and the same payload.
function M.echo()
  local inbox = process.inbox()
  while true do
    local msg = inbox:receive()
    process.send(msg:from(), "pong", msg:payload())
  end
end

-- The types of the names the sandbox governs, as this process sees them.
function M.probe()
  return require("probe")()
end

-- Writes text to a fresh temporary file, reads it back, removes the file (needs io and os).
function M.file_roundtrip(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  local g = assert(io.open(path, "r"))
  local back = g:read("a")
  g:close()
  local removed = os.remove(path)
  return { back = back, removed = removed, gone = io.open(path) == nil }
end

-- Tries one forbidden thing, plainly, the way a script would.
function M.forbidden(kind)
  if kind == "io.open" then
    return io.open("/etc/hostname")
  elseif kind == "os.execute" then
    return os.execute("true")
  elseif kind == "os.exit" then
    return os.exit(0)
  elseif kind == "os.getenv" then
    return os.getenv("HOME")
  elseif kind == "os.remove" then
    return os.remove("/tmp/moonhost-sandbox-never-there")
  elseif kind == "loadfile" then
    return loadfile("/etc/hostname")
  elseif kind == "dofile" then
    return dofile("/etc/hostname")
  elseif kind == "package.loadlib" then
    return package.loadlib("libc.so.6", "system")
  elseif kind == "require" then
    local m = require("io") -- not a tail call, so the error names this line
    return m
  elseif kind == "binary" then
    local f = assert(load(string.dump(function() return 42 end)))
    return f()
  end
  error("unknown kind " .. tostring(kind))
end

-- Tries to stop the garbage collector (of the whole runtime, if it could).
function M.gc_stopper()
  pcall(collectgarbage, "stop")
  return true
end

return M
