---@meta supervisor
-- LuaLS type stubs for moonhost's `supervisor` module (SPEC §12.1). Editor support only.
-- `local supervisor = require("supervisor")`.

---@class supervisor
local supervisor = {}

---Spawns a supervisor process linked to the caller and waits until every child runs.
---Errors: `"supervisor spec must be a table"`, the spec validation errors,
---`"child '<id>' failed to start: <err>"`, `"host not found"`, `"name already registered"`.
---@param spec table `{strategy, max_restarts, period, backoff, children, name, host, notify}`
---@return PID|nil sup
---@return string|nil err
function supervisor.start(spec) end

---Turns the calling process into the supervisor of `spec`; returns `true` after
---`supervisor.stop` or a CANCEL. A bad spec ends the caller abnormally with the error.
---@param spec table
---@return true
function supervisor.run(spec) end

---The children in start order: `{id, pid, status, restart, restarts, kind}`.
---@param sup Destination
---@return table[]|nil children
---@return string|nil err
function supervisor.which_children(sup) end

---Appends and starts a child: its PID, or `nil, err`.
---@param sup Destination
---@param child_spec table
---@return PID|nil pid
---@return string|nil err
function supervisor.start_child(sup, child_spec) end

---Stops a child and keeps its spec as `"stopped"` (deletes a temporary one): `true`.
---@param sup Destination
---@param id string
---@return true|nil ok
---@return string|nil err
function supervisor.terminate_child(sup, id) end

---Starts a new incarnation of a child at once: its PID, or `nil, err`.
---@param sup Destination
---@param id string
---@return PID|nil pid
---@return string|nil err
function supervisor.restart_child(sup, id) end

---Removes a stopped child's spec: `true`, or `nil, "child is running: <id>"`.
---@param sup Destination
---@param id string
---@return true|nil ok
---@return string|nil err
function supervisor.delete_child(sup, id) end

---Shuts the supervisor down: `true` once it has ended.
---@param sup Destination
---@return true|nil ok
---@return string|nil err
function supervisor.stop(sup) end

return supervisor
