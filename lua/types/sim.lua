---@meta sim
-- LuaLS type stubs for moonhost's `sim` module (SPEC §14.5). Editor support only.
-- `local sim = require("sim")`. Live in simulation mode (`--seed`, `--explore`, `--replay`);
-- inert otherwise, so code ships with its sites in place.

---@class sim
local sim = {}

---`true` in simulation mode, else `false`.
---@return boolean
function sim.enabled() end

---The run's seed, `nil` outside simulation.
---@return integer|nil
function sim.seed() end

---Whether this fault site fires now. `false` unless `--faults` has `buggify`; a site (`name`,
---or the caller's `chunk:line`) is enabled for the run from (seed, site), and an enabled one
---fires with probability `p` (default: the fault's argument) per call.
---@param name? string
---@param p? number
---@return boolean
function sim.buggify(name, p) end

---Ends `dest` abnormally at its next scheduling point with `reason` (default
---`"sim: process killed"`); on the caller itself it does not return.
---@param dest string
---@param reason? string
---@return true|nil ok
---@return string? err
function sim.kill(dest, reason) end

---The caller's next successful send to `dest` enters its mailbox `d` later (per-pair
---order kept).
---@param dest string
---@param d string|integer
---@return true|nil ok
---@return string? err
function sim.delay(dest, d) end

---`dest` (default the caller) is never chosen by `kill` faults.
---@param dest? string
---@return true|nil ok
---@return string? err
function sim.protect(dest) end

---Returns `cond`; when it is falsy the run ends at once and fails with
---`sim.always failed: <name>`.
---@generic T
---@param cond T
---@param name string
---@return T
function sim.always(cond, name) end

---Returns `cond`; records that `name` was evaluated, and hit when `cond` is truthy.
---@generic T
---@param cond T
---@param name string
---@return T
function sim.sometimes(cond, name) end

return sim
