-- SPEC §9.1: error objects and the `errors` global.
local assert = require("assert")

local M = {}
local HOST = "app:processes"

function M.errors_kind_constants()
  local want = {
    NOT_FOUND = "NotFound", ALREADY_EXISTS = "AlreadyExists", INVALID = "Invalid",
    PERMISSION_DENIED = "PermissionDenied", UNAVAILABLE = "Unavailable", INTERNAL = "Internal",
    CANCELED = "Canceled", CONFLICT = "Conflict", TIMEOUT = "Timeout",
    RATE_LIMITED = "RateLimited", UNKNOWN = "",
  }
  for k, v in pairs(want) do assert.eq(errors[k], v, "errors." .. k) end
  assert.raises(function() errors.INVALID = "x" end, "attempt to modify read-only table 'errors'")
  return true
end

function M.error_object_methods()
  local v, err = time.load_location("")
  assert.eq(v, nil)
  assert.eq(type(err), "userdata")
  assert.eq(err:kind(), errors.INVALID)
  assert.eq(err:retryable(), false)
  assert.eq(err:message(), "empty location name")
  assert.eq(err:details(), nil)
  assert.eq(tostring(err), "empty location name")
  -- `..` on either side gives the message
  assert.eq("x: " .. err, "x: empty location name")
  assert.eq(err .. " (!)", "empty location name (!)")
  assert.eq(err .. err, "empty location nameempty location name")
  -- a userdata never equals a string
  assert.eq(err == "empty location name", false)
  return true
end

function M.errors_new_and_is()
  local e = errors.new("boom")
  assert.eq(tostring(e), "boom")
  assert.eq(e:kind(), errors.UNKNOWN)
  e = errors.new { message = "busy", kind = errors.UNAVAILABLE, retryable = true }
  assert.eq(e:message(), "busy")
  assert.eq(e:kind(), "Unavailable")
  assert.eq(e:retryable(), true)
  assert.eq(errors.new { message = "m" }:retryable(), nil)
  assert.eq(errors.is(e, errors.UNAVAILABLE), true)
  assert.eq(errors.is(e, errors.INVALID), false)
  assert.eq(errors.is("busy", errors.UNAVAILABLE), false)
  assert.eq(errors.is(nil, errors.UNKNOWN), false)
  assert.raises(function() errors.new(5) end,
    "errors.new: bad argument #1 (expected string or table, got number)")
  return true
end

function M.error_object_sent_as_message()
  local _, err = time.load_location("Nowhere/Zone")
  assert.eq(process.send(process.pid(), "e", err), true)
  local msg = process.inbox():receive()
  local v = msg:payload():data()
  assert.eq(type(v), "string")
  assert.eq(v, "unknown time zone Nowhere/Zone")
  -- nested in a table too
  assert.eq(process.send(process.pid(), "e", { err = err }), true)
  assert.eq(process.inbox():receive():payload():data().err, "unknown time zone Nowhere/Zone")
  return true
end

function M.process_returning_an_error_object_fails_with_its_message()
  local pid = assert(process.spawn_monitored("test.calendar:workers:returns_error", HOST))
  while true do
    local ev = process.events():receive()
    if ev.from == pid and ev.kind == "pid.exit" then
      assert.eq(ev.error, "empty location name")
      return true
    end
  end
end

return M
