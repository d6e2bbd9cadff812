-- The `sim` module (SPEC §14.5), built once per runtime by src/lua/sim.rs. Live in
-- simulation mode; outside it every function exists and is inert, so code ships with its
-- sites in place.
local raw, finish = ...
local type, error = type, error
local site = raw.site

local function check_name(fn, name)
  if type(name) ~= "string" or name == "" or name:find("[,\n]") then
    error("sim." .. fn .. ": name must be a non-empty string without ',' or newline", 3)
  end
end

local sim = {}

function sim.enabled() return raw.enabled() end

function sim.seed() return raw.seed() end

function sim.buggify(name, p)
  if name ~= nil and type(name) ~= "string" then
    error("sim.buggify: name must be a string", 2)
  end
  if p ~= nil and (type(p) ~= "number" or p < 0 or p > 1) then
    error("sim.buggify: probability must be between 0 and 1", 2)
  end
  if not raw.enabled() then return false end
  return raw.buggify(name or site(2), p)
end

function sim.kill(dest, reason) return finish(raw.kill(dest, reason)) end

function sim.delay(dest, d) return finish(raw.delay(dest, d)) end

function sim.protect(dest) return finish(raw.protect(dest)) end

function sim.always(cond, name)
  if not raw.enabled() then return cond end
  check_name("always", name)
  if not cond then return finish(raw.always_failed(name, site(2))) end
  return cond
end

function sim.sometimes(cond, name)
  if not raw.enabled() then return cond end
  check_name("sometimes", name)
  raw.sometimes(name, not not cond)
  return cond
end

return sim
