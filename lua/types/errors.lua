---@meta errors
-- LuaLS type stubs for moonhost's `errors` global and error objects (SPEC §9.1). Editor
-- support only.

---@alias ErrorKind "NotFound"|"AlreadyExists"|"Invalid"|"PermissionDenied"|"Unavailable"|"Internal"|"Canceled"|"Conflict"|"Timeout"|"RateLimited"|""

---Error kind constants. Shared and read-only.
---@class errors
---@field NOT_FOUND "NotFound"
---@field ALREADY_EXISTS "AlreadyExists"
---@field INVALID "Invalid"
---@field PERMISSION_DENIED "PermissionDenied"
---@field UNAVAILABLE "Unavailable"
---@field INTERNAL "Internal"
---@field CANCELED "Canceled"
---@field CONFLICT "Conflict"
---@field TIMEOUT "Timeout"
---@field RATE_LIMITED "RateLimited"
---@field UNKNOWN ""
errors = {}

---@class ErrorOptions
---@field message string
---@field kind? ErrorKind
---@field retryable? boolean

---A new error object (optional in SPEC §9.1).
---@param msg string|ErrorOptions
---@return Error
function errors.new(msg) end

---Whether `err` is an error object of `kind` (`false` for other values; optional in SPEC
---§9.1).
---@param err any
---@param kind ErrorKind
---@return boolean
function errors.is(err, kind) end

---An error object returned as the second value of a failing call. `tostring(err)` and
---`"x: " .. err` give the message; `err == "text"` is always false (compare
---`tostring(err)`). Sending one sends its message as a string.
---@class Error
---@operator concat(string): string
local Error = {}

---@return ErrorKind
function Error:kind() end

---`true`, `false`, or `nil` when unknown.
---@return boolean|nil
function Error:retryable() end

---@return string
function Error:message() end

---Always nil for the errors of SPEC §9–§11.
---@return table|nil
function Error:details() end

return errors
