---@meta
-- LuaLS type stubs for the globals moonhost adds to, or changes in, standard Lua 5.4
-- (SPEC §2, §6; LUA_API.md). Editor support only. The standard library itself comes from
-- LuaLS's own Lua 5.4 definitions; `io`, `package`, `dofile` and `loadfile` do not exist in
-- a moonhost process, `os` has only `time`, `clock`, `date`, `difftime` and `debug` only
-- `traceback`.

---Runs `fn` as another coroutine of the calling process: same PID and mailbox. When the
---process's main function returns the others are killed; an uncaught error in any of them
---fails the whole process.
---@param fn fun()
---@return true
function coroutine.spawn(fn) end

---`string` is also callable, a cast for scripts written for Wippy: `string(x)` gives a
---string as is, a number through `tostring`, and raises for anything else.
---@class stringlib
---@operator call(string|number): string

---Alias of `table.unpack`.
---@generic T
---@param list T[]
---@param i? integer
---@param j? integer
---@return T ...
function unpack(list, i, j) end
