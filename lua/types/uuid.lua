---@meta uuid
-- LuaLS type stubs for moonhost's `uuid` module (SPEC §6). Editor support only.
-- `local uuid = require("uuid")`.

---@class uuid
local uuid = {}

---A random (version 4) UUID string, e.g. `"3f0c1d5e-8a2b-4c7d-9e1f-0a1b2c3d4e5f"`;
---deterministic under a seed (`--seed N`).
---@return string
function uuid.v4() end

return uuid
