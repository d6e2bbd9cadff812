-- SPEC §3: what channel.select returns and raises, whichever path runs it. Receive-only
-- selects over a plain case list run in C (src/ffi/select.rs); send cases, lists with a
-- metatable and long lists take the Lua path. Both must give the same tables and errors.
local assert = require("assert")

local M = {}

-- the keys of t in `pairs` order
local function order(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  return table.concat(ks, ",")
end

-- the error `f` raises
local function raised(f)
  local ok, err = pcall(f)
  assert.falsy(ok, "expected an error")
  return tostring(err)
end

local function at_caller(err, text)
  assert.truthy(err:find("^[^:]*select_results%.lua:%d+: ") and err:find(text, 1, true),
    "expected '" .. text .. "' at this file's line, got " .. err)
end

function M.errors_point_at_the_calling_line()
  at_caller(raised(function() channel.select({}) end), "channel.select: no cases")
  at_caller(raised(function() channel.select(5) end),
    "channel.select: bad argument #1 (expected table, got number)")
  at_caller(raised(function() channel.select({ 1 }) end), "channel.select: case #1 is not a case")
  at_caller(raised(function() channel.select(setmetatable({}, {})) end), "channel.select: no cases")
  local closed = channel.new()
  closed:close()
  at_caller(raised(function() channel.select { closed:case_send(1) } end), "send on closed channel")
  return true
end

function M.cases_are_protected_tables_holding_channel_direction_and_value()
  local ch, t = channel.new(), {}
  local r, s = ch:case_receive(), ch:case_send(t)
  assert.eq(type(r), "table")
  assert.eq(getmetatable(r), false)
  assert.truthy(rawequal(r[1], ch) and r[2] == false and #r == 2)
  assert.truthy(rawequal(s[1], ch) and s[2] == true and rawequal(s[3], t) and #s == 3)
  local n = ch:case_send(nil)
  assert.truthy(n[2] == true and n[3] == nil)
  assert.falsy(rawequal(ch:case_receive(), r), "every case is a new table")
  at_caller(raised(function() ch.case_receive(5) end),
    "channel.case_receive: bad argument #1 (expected channel, got number)")
  at_caller(raised(function() ch.case_send() end),
    "channel.case_send: bad argument #1 (expected channel, got nil)")
  at_caller(raised(function() ch.case_receive(time.now()) end),
    "channel.case_receive: bad argument #1 (expected channel, got userdata)")
  return true
end

function M.results_are_fresh_plain_tables_in_constructor_order()
  local ch, other = channel.new(4), channel.new()
  ch:send("v")
  local r = channel.select { other:case_receive(), ch:case_receive() }
  assert.same(r, { channel = ch, value = "v", ok = true })
  assert.eq(order(r), order({ channel = ch, value = "v", ok = true }))
  assert.eq(getmetatable(r), nil)
  r.mine = 1
  ch:send("w")
  local again = channel.select { other:case_receive(), ch:case_receive() }
  assert.falsy(rawequal(r, again), "every select returns a new table")
  assert.eq(again.mine, nil)
  local d = channel.select { other:case_receive(), default = true }
  assert.eq(order(d), order({ default = true, ok = true }))
  ch:close()
  local c = channel.select { other:case_receive(), ch:case_receive() }
  assert.same(c, { channel = ch, ok = false })
  assert.eq(order(c), order({ channel = ch, ok = false }))
  return true
end

function M.received_values_keep_their_identity()
  local ch = channel.new(3)
  local t, f = {}, function() end
  ch:send(t); ch:send(f); ch:send("s")
  local cases = { ch:case_receive() }
  assert.truthy(rawequal(channel.select(cases).value, t))
  assert.truthy(rawequal(channel.select(cases).value, f))
  assert.eq(channel.select(cases).value, "s")
  -- a false value is a value, not a closed channel
  ch:send(false)
  assert.same(channel.select(cases), { channel = ch, value = false, ok = true })
  return true
end

-- n receive cases on fresh unbuffered channels
local function many(n)
  local chans, cases = {}, {}
  for k = 1, n do
    chans[k] = channel.new()
    cases[k] = chans[k]:case_receive()
  end
  return chans, cases
end

function M.the_last_of_many_cases_wins_ready_and_blocked()
  for _, n in ipairs({ 9, 32, 33, 40 }) do
    local chans, cases = many(n)
    chans[n] = channel.new(1)
    cases[n] = chans[n]:case_receive()
    chans[n]:send(n)
    local r = channel.select(cases)
    assert.same(r, { channel = chans[n], value = n, ok = true }, n .. " cases, ready")
    coroutine.spawn(function() chans[n]:send(-n) end)
    r = channel.select(cases)
    assert.same(r, { channel = chans[n], value = -n, ok = true }, n .. " cases, blocked")
    -- the other cases were withdrawn
    local probe = channel.select { chans[1]:case_send(0), default = true }
    assert.eq(probe.default, true, n .. " cases: a withdrawn case took a value")
  end
  return true
end

function M.blocked_select_result_is_built_from_the_woken_case()
  local a, b, c = channel.new(), channel.new(), channel.new()
  coroutine.spawn(function() b:send({ n = 1 }) end)
  local r = channel.select { a:case_receive(), b:case_receive(), c:case_receive() }
  assert.same(r, { channel = b, value = { n = 1 }, ok = true })
  assert.eq(order(r), order({ channel = b, value = r.value, ok = true }))
  coroutine.spawn(function() c:close() end)
  r = channel.select { a:case_receive(), b:case_receive(), c:case_receive() }
  assert.same(r, { channel = c, ok = false })
  return true
end

function M.a_select_blocked_inside_nested_coroutines_gets_its_result()
  local a, b = channel.new(), channel.new()
  coroutine.spawn(function() time.sleep("5ms"); b:send("deep") end)
  local inner = coroutine.wrap(function()
    local co = coroutine.create(function()
      return channel.select { a:case_receive(), b:case_receive() }
    end)
    local ok, r = coroutine.resume(co)
    assert.truthy(ok, tostring(r))
    return r
  end)
  assert.same(inner(), { channel = b, value = "deep", ok = true })
  return true
end

function M.a_case_list_with_a_metatable_is_read_as_lua_reads_it()
  local quiet, ready = channel.new(), channel.new(1)
  ready:send("x")
  -- `#` sees one case, so the ready second one is not in the select
  local cases = setmetatable({ quiet:case_receive(), ready:case_receive(), default = true },
    { __len = function() return 1 end })
  assert.same(channel.select(cases), { default = true, ok = true })
  cases = setmetatable({ quiet:case_receive(), ready:case_receive() }, {})
  assert.same(channel.select(cases), { channel = ready, value = "x", ok = true })
  return true
end

function M.only_default_true_counts_as_a_default()
  local ch = channel.new()
  coroutine.spawn(function() ch:send(1) end)
  -- `default = 1` is not `true`: the select blocks until the send
  local r = channel.select { ch:case_receive(), default = 1 }
  assert.same(r, { channel = ch, value = 1, ok = true })
  return true
end

-- The C path reads a case list in place where Lua keeps it in an array part
-- (src/ffi/cases.rs), through the C API elsewhere: every shape of list picks the ready case.
function M.every_shape_of_case_list_picks_the_ready_case()
  local idle, ready = channel.new(1), channel.new(1)
  local shapes = {
    function() return { idle:case_receive(), ready:case_receive() } end,
    function()
      local t = {}
      t[1] = idle:case_receive()
      t[2] = ready:case_receive()
      return t
    end,
    function() -- filled backwards: the entries start in the hash part
      local t = {}
      t[2] = ready:case_receive()
      t[1] = idle:case_receive()
      return t
    end,
    function()
      local t = { x = 1, y = 2, z = 3 }
      t[2] = ready:case_receive()
      t[1] = idle:case_receive()
      return t
    end,
    function()
      local t = {}
      for k = 1, 7 do t[k] = idle:case_receive() end
      t[8] = ready:case_receive()
      return t
    end,
    function() return { { idle, false }, { ready } } end, -- cases written by hand
  }
  for i, make in ipairs(shapes) do
    ready:send(i)
    local r = channel.select(make())
    assert.truthy(rawequal(r.channel, ready), "shape " .. i)
    assert.eq(r.value, i, "shape " .. i)
    assert.eq(r.ok, true, "shape " .. i)
  end
  -- A send case, or something else, among receive cases: still the ready one.
  ready:send("last")
  local r = channel.select { idle:case_receive(), ready:case_receive(), channel.new():case_send(1) }
  assert.eq(r.value, "last")
  return true
end

return M
