---@meta spawner
-- LuaLS type stubs for spawners (SPEC §10.2): `process.with_context` / `with_options` and
-- the Spawner object. Editor support only.

---Spawn options: moonhost interprets no key (Wippy forwards them to its hosts).
---@alias SpawnOptions table<string, Sendable>

---A Spawner holding the caller's context values plus `values` (new keys win), and the
---caller's actor and scope. Values are copied now (SPEC §5). Raises `bad argument #1 to
---'with_context' (table expected, got <type>)`, `... (context keys must be strings)`,
---`cannot send <type>`.
---@param values table<string, Sendable>
---@return Spawner
function process.with_context(values) end

---A Spawner like `process.with_context({})`, with `options`. Raises `bad argument #1 to
---'with_options' (table expected, got <type>)`, `... (options keys must be strings)`.
---@param options SpawnOptions
---@return Spawner
function process.with_options(options) end

---An immutable recipe for children: context values, actor, scope and options. Every
---`with_*` returns a new Spawner; one Spawner may spawn any number of times. Not sendable.
---Methods called on something else raise `bad argument #1 to '<method>' (Spawner expected)`.
---@class Spawner
local Spawner = {}

---A new Spawner with `values` added (later keys win; keys that are not strings are skipped).
---@param values table<string, Sendable>
---@return Spawner
function Spawner:with_context(values) end

---A new Spawner with the option tables merged (later keys win). Raises `... (options keys
---must be strings)`.
---@param options SpawnOptions
---@return Spawner
function Spawner:with_options(options) end

---A new Spawner whose children act as `actor`. Raises `... (actor cannot be nil)`,
---`... (Actor expected)`.
---@param actor Actor
---@return Spawner
function Spawner:with_actor(actor) end

---A new Spawner whose children hold `scope`. Raises `... (scope cannot be nil)`,
---`... (Scope expected)`.
---@param scope Scope
---@return Spawner
function Spawner:with_scope(scope) end

---As `process.spawn`, giving the child this Spawner's values, actor and scope. Fewer than
---two arguments raises `spawn requires at least id and host arguments`; other failures
---return `nil, err` as `process.spawn`.
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function Spawner:spawn(entry, host, ...) end

---As `Spawner:spawn`; the caller also monitors the child.
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function Spawner:spawn_monitored(entry, host, ...) end

---As `Spawner:spawn`; caller and child are linked.
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function Spawner:spawn_linked(entry, host, ...) end

---As `Spawner:spawn`, linked and monitored.
---@param entry string
---@param host string
---@param ... Sendable
---@return PID|nil pid
---@return string|nil err
function Spawner:spawn_linked_monitored(entry, host, ...) end
