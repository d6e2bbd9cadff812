---@meta security
-- LuaLS type stubs for moonhost's `security` module (SPEC §11). Editor support only.
-- `local security = require("security")`. Actors, scopes and policies are userdata, not
-- sendable; they reach children only through the spawn context. moonhost enforces nothing.

---@alias Decision "allow"|"deny"|"undefined"

---@class security
local security = {}

---A new Actor. `meta`: string keys kept (others dropped), values copied (SPEC §5). Raises
---`security.new_actor: bad argument #1 (expected string, got <type>)`, `... #2 (expected
---table, ...)`, `cannot send <type>`.
---@param id string
---@param meta? table<string, Sendable>
---@return Actor
function security.new_actor(id, meta) end

---A new Scope of the Policy objects in `policies` (other elements are skipped).
---@param policies? Policy[]
---@return Scope
function security.new_scope(policies) end

---The manifest's `security.policy` entry `id`, or `nil` and an error of kind `Internal`
---(`policy not found`).
---@param id string `"ns:name"`
---@return Policy|nil
---@return Error|nil err
function security.policy(id) end

---A Scope of every policy in group `id`, or `nil` and an error of kind `Internal`
---(`policy group not found`).
---@param id string
---@return Scope|nil
---@return Error|nil err
function security.named_scope(id) end

---The process's actor (a fresh object each call), or `nil`.
---@return Actor|nil
function security.actor() end

---The process's scope, or `nil`.
---@return Scope|nil
function security.scope() end

---`true` only when the process has an actor and a scope and the scope answers `"allow"`.
---@param action string
---@param resource string
---@param meta? table
---@return boolean
function security.can(action, resource, meta) end

---@class Actor
local Actor = {}

---@return string
function Actor:id() end

---A fresh deep copy of the metadata (`{}` when none).
---@return table<string, any>
function Actor:meta() end

---A policy id: `"ns:name"`, a Policy, or `{ns = ..., name = ...}`.
---@alias PolicyID string|Policy|{ns: string, name: string}

---An immutable set of policies keyed by id.
---@class Scope
local Scope = {}

---A fresh array of the Policy objects, ordered by id.
---@return Policy[]
function Scope:policies() end

---A new Scope with `policy` added (replacing one with the same id).
---@param policy Policy
---@return Scope
function Scope:with(policy) end

---A new Scope without the policy `p` names (absent is not an error).
---@param p PolicyID
---@return Scope
function Scope:without(p) end

---@param p PolicyID
---@return boolean
function Scope:contains(p) end

---`"deny"` if any policy denies, else `"allow"` if any allows, else `"undefined"`.
---@param actor Actor
---@param action string
---@param resource string
---@param meta? table
---@return Decision
function Scope:evaluate(actor, action, resource, meta) end

---@class Policy
local Policy = {}

---@return string `"ns:name"`
function Policy:id() end

---The policy's effect when an action and a resource pattern match, else `"undefined"`.
---@param actor Actor
---@param action string
---@param resource string
---@param meta? table
---@return Decision
function Policy:evaluate(actor, action, resource, meta) end

return security
