---@meta channel
-- LuaLS type stubs for moonhost's `channel` module (SPEC §3). Editor support only.
-- `channel` is a global in every process; `require("channel")` returns the same table.
-- Channels are local to their process: they cannot be sent as payloads.

---@class channel
channel = {}

---A new channel; `size` 0 (the default) is unbuffered, a negative size counts as 0. A
---non-number raises.
---@param size? integer buffer size
---@return Channel
function channel.new(size) end

---@class SelectCases
---@field [integer] SelectCase cases, tried in written order
---@field default? boolean return at once with `{default = true, ok = true}` when no case is ready

---Waits on several channel operations; the first ready case **in written order** wins (no
---random choice). Blocks until one completes unless `default` is set. No cases and no
---default raises.
---@param cases SelectCases
---@return SelectResult
function channel.select(cases) end

---@class SelectResult
---@field channel Channel|nil the very channel object of the case that won
---@field value any the received value, or the sent value for a send case
---@field ok boolean false for a receive from a closed channel
---@field default boolean|nil true when nothing was ready and `default` was set

---A case for `channel.select`, from `ch:case_receive()` or `ch:case_send(v)`.
---@class SelectCase

---A channel. Same object identity is kept through `select` results, `inbox()`, `events()`,
---`listen()` and `time.after()`.
---@class Channel
local Channel = {}

---Hands `v` to a waiting receiver, buffers it if there is room, else blocks (FIFO among
---senders). On a closed channel raises `"send on closed channel"`; a sender blocked when the
---channel closes gets `nil, "send on closed channel"`.
---@param v any
---@return true|nil ok
---@return string|nil err
function Channel:send(v) end

---Takes the next value, blocking while the channel is empty. Closed and drained: `nil, false`
---(every time); buffered values stay receivable after close.
---@return any value
---@return boolean ok
function Channel:receive() end

---Closes the channel and wakes every blocked receiver with `nil, false`. Closing twice is a
---no-op.
function Channel:close() end

---A send case for `channel.select`.
---@param v any
---@return SelectCase
function Channel:case_send(v) end

---A receive case for `channel.select`.
---@return SelectCase
function Channel:case_receive() end

return channel
