---@meta process
-- LuaLS type stubs for moonhost's `process` module (SPEC §2). Editor support only: this
-- file is never loaded by the runtime. `process` is a global in every process;
-- `require("process")` returns the same shared, read-only table.

---A process id, e.g. `{app:processes|7}`. PIDs are never reused within a run and compare
---with `==`.
---@alias PID string

---A PID or a name registered with `process.registry.register`.
---@alias Destination PID|string

---A value that can cross processes (SPEC §5): nil, booleans, numbers, strings, tables of
---those (deep-copied; metatables are not carried), or a payload object (sent as the value it
---wraps). Functions, coroutines, channels and other userdata are refused.
---@alias Sendable nil|boolean|number|string|table|Payload

---@class process
process = {}

---Starts `entry` on `host`; extra arguments are copied and become `main`'s arguments.
---When it returns, the child exists and can receive messages (it may not have run yet).
---Errors: `"spawn requires at least id and host arguments"`, `"host not found"`,
---`"entry not found: <id>"`, `"max processes limit exceeded"`, `"cannot send <type>"`.
---@param entry string entry id, e.g. `"app:worker"`
---@param host string host entry id, e.g. `"app:processes"`
---@param ... Sendable arguments for the child's method
---@return PID|nil pid
---@return string|nil err
function process.spawn(entry, host, ...) end

---As `process.spawn`; the caller also monitors the child (it gets its EXIT event).
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function process.spawn_monitored(entry, host, ...) end

---As `process.spawn`; caller and child are linked (an abnormal exit of one reaches the other).
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function process.spawn_linked(entry, host, ...) end

---As `process.spawn`, both monitored and linked.
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function process.spawn_linked_monitored(entry, host, ...) end

---The caller's PID.
---@return PID
function process.pid() end

---The id of the entry the caller runs, e.g. `"app:worker"`.
---@return string
function process.id() end

---Sends one message; each extra argument is one payload. Order is kept per sender-receiver
---pair. Errors: `"send requires at least destination and topic arguments"`,
---`"cannot send to @ topics"`, `"could not resolve '<dest>' as PID or registered name"`,
---`"process not found"`, `"cannot send <type>"`.
---@param dest Destination
---@param topic string must not start with `@`
---@param ... Sendable payloads
---@return true|nil ok
---@return string|nil err
function process.send(dest, topic, ...) end

---@class ListenOptions
---@field message? boolean deliver message objects instead of raw values

---Channel (buffer 1) of messages with `topic`. Raw mode delivers 0 payloads as `nil`, 1 as
---the value, N as an array; `{message = true}` delivers `Message` objects. The same topic
---gives the same channel. Errors: `"topic cannot be empty"`, `"cannot listen to @ topics"`.
---@param topic string
---@param opts? ListenOptions
---@return Channel|nil ch
---@return string|nil err
function process.listen(topic, opts) end

---Closes a `listen` channel and removes its subscription; later messages for that topic go
---to the inbox.
---@param ch Channel
---@return boolean ok
---@return string|nil err `"channel not found"`
function process.unlisten(ch) end

---Unbuffered channel of `Message` objects for every topic without a listener. The same
---channel on every call; it cannot be sent on or closed.
---@return Channel
function process.inbox() end

---Unbuffered channel of lifecycle events (`ExitEvent`, `CancelEvent`). The same channel on
---every call.
---@return Channel
function process.events() end

---Monitors `dest`: its EXIT arrives on `process.events()`. Errors:
---`"monitor requires a destination argument"`, `"pid not registered"`,
---`"already monitoring pid"`.
---@param dest Destination
---@return true|nil ok
---@return string|nil err
function process.monitor(dest) end

---Stops monitoring `dest`; no EXIT from it arrives afterwards. Not monitored: a no-op `true`.
---@param dest Destination
---@return true|nil ok
---@return string|nil err
function process.unmonitor(dest) end

---Links the caller and `dest` (symmetric; linking twice is a no-op). Errors:
---`"link requires a destination argument"`, `"pid not registered"`.
---@param dest Destination
---@return true|nil ok
---@return string|nil err
function process.link(dest) end

---Removes the link between the caller and `dest`.
---@param dest Destination
---@return true|nil ok
---@return string|nil err
function process.unlink(dest) end

---@class ProcessOptions
---@field trap_links? boolean receive LINK_DOWN on `events()` instead of failing with a linked process

---Sets process options. Errors: `"options parameter must be a table"`,
---`"trap_links must be a boolean"`, `"option <name> is not supported"`.
---@param opts ProcessOptions
---@return boolean ok
---@return string|nil err
function process.set_options(opts) end

---The current options, `{trap_links = false}` by default.
---@return {trap_links: boolean}
function process.get_options() end

---Puts a CANCEL event on the target's events channel; the target decides what to do.
---Errors: `"cancel requires at least destination argument"`, `"process not found"`.
---@param dest Destination
---@param reason? string
---@return true|nil ok
---@return string|nil err
function process.cancel(dest, reason) end

---Ends the target at its next scheduling point, even if it is blocked; its exit error is
---`"process terminated"`.
---@param dest Destination
---@return true|nil ok
---@return string|nil err `"process not found"`
function process.terminate(dest) end

---Every live process's PID (or one host's), in spawn order, the caller included.
---Errors: `"host not found"`.
---@param host? string
---@return PID[]|nil pids
---@return string|nil err
function process.list(host) end

---A snapshot of a live process (SPEC §12.2): `pid`, `entry`, `host`, `parent`, `state`
---(`"running"`/`"runnable"`/`"waiting"`), `waiting_on` (`"receive"`, `"send"`, `"select"`,
---`"sleep"`, `"call"` or nil), `mailbox`, `memory`, `instructions`, `tasks`, `timers`,
---`links`, `monitors`, `monitored_by`, `names`, `name`, `trap_links`, `started_at` (Time),
---`upgrades`. Errors: `"info requires a destination argument"`,
---`"could not resolve '<dest>' as PID or registered name"`, `"process not found"`.
---@param dest Destination
---@return table|nil info
---@return string|nil err
function process.info(dest) end

---The traceback of a process's main coroutine where it is suspended (`"stack traceback:"`
---before it starts; the caller's own current stack for itself). Errors as `process.info`
---(`"traceback requires a destination argument"`).
---@param dest Destination
---@return string|nil traceback
---@return string|nil err
function process.traceback(dest) end

---Switches the caller to new code in place (SPEC §12.3): it continues as `method(...)` of
---`entry` (nil: its current entry) in the runtime's current code for it, keeping its PID,
---mailbox, names, links, monitors, options and subscriptions; globals, tasks, timers and
---its own channels are dropped. If the new chunk returns a table with `code_change`, the new
---main runs `method(code_change(old_entry_id, ...))`. Does not return on success.
---Errors (the old code goes on): `"entry not found: <id>"`, `"cannot send <type>"`,
---`"upgrade failed: <compiler message>"`.
---@param entry? string entry id, e.g. `"app:worker"`
---@param ... Sendable state for the new code
---@return nil
---@return string err
function process.upgrade(entry, ...) end

---The name registry (SPEC §2.4). Names are released when their process ends.
---@class process.registry
process.registry = {}

---Registers `name` for `pid` (default: the caller). Errors: `"name already registered"`,
---`"name cannot be empty"`, `"process not found"`.
---@param name string
---@param pid? PID
---@return true|nil ok
---@return string|nil err
function process.registry.register(name, pid) end

---The PID registered under `name`.
---@param name string
---@return PID|nil pid
---@return string|nil err `"name not registered"`
function process.registry.lookup(name) end

---Removes `name`; `true` if a mapping was removed.
---@param name string
---@return boolean
function process.registry.unregister(name) end

---Event kinds, the `kind` field of an event from `process.events()`.
---@class process.event
process.event = {}
---A monitored process ended.
process.event.EXIT = "pid.exit"
---A linked process failed and the caller traps links.
process.event.LINK_DOWN = "pid.link.down"
---Another process asked the caller to cancel.
process.event.CANCEL = "pid.cancel"
---The code of the caller's entry was reloaded (`Runtime::reload`, `moonhost run --watch`).
process.event.RELOAD = "pid.reload"

---How a process ended: `value` on a normal exit, `error` on an abnormal one.
---`tostring(result)` gives the value or the error.
---@class ExitResult
---@field value any copy of the first return value (normal exit)
---@field error string|nil the error message (abnormal exit)

---An EXIT or LINK_DOWN event.
---@class ExitEvent
---@field kind "pid.exit"|"pid.link.down"
---@field from PID the process that ended
---@field result ExitResult
---@field error string|nil the error message, nil on a normal exit
---@field at integer unix seconds

---A CANCEL event.
---@class CancelEvent
---@field kind "pid.cancel"
---@field from PID the process that asked
---@field reason string `""` if none was given
---@field at integer unix seconds

---A RELOAD event: new code for the caller's entry; answer with `process.upgrade(nil, state)`.
---@class ReloadEvent
---@field kind "pid.reload"
---@field from "" always empty
---@field entry string the reloaded entry id
---@field at integer unix seconds

---A message delivered by `process.inbox()` or a `listen(topic, {message = true})` channel.
---`tostring(msg)` names the topic.
---@class Message
local Message = {}

---The sender's topic.
---@return string
function Message:topic() end

---The sender's PID, `""` if none (a message from the embedding host).
---@return PID
function Message:from() end

---The payloads: nil for none, one `Payload` for one, an array of `Payload` for several.
---@return Payload|Payload[]|nil
function Message:payload() end

---One received payload; sending it sends the value it wraps.
---@class Payload
local Payload = {}

---The value (tables are fresh copies).
---@return any
function Payload:data() end

return process
