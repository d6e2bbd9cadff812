---@meta ctx
-- LuaLS type stubs for moonhost's `ctx` module (SPEC §10.3). Editor support only.
-- `local ctx = require("ctx")`: the values the process got at spawn, read-only.

---@class ctx
local ctx = {}

---The context value `key` (a fresh copy), and `nil`; or `nil` and an error of kind
---`NotFound` (`key not found: <key>`) or `Invalid` (`empty key`). A non-string key raises
---`ctx.get: bad argument #1 (expected string, got <type>)`.
---@param key string
---@return any value
---@return Error|nil err
function ctx.get(key) end

---A fresh table of every context value (`{}` when none), and `nil`.
---@return table<string, any> values
---@return nil err
function ctx.all() end

return ctx
