-- select N [fresh]: N selects over 8 unbuffered channels, each fed by its own producer
-- (a coroutine.spawn task of this process: channels cannot leave their process), plus a
-- time.after("1h") case that must never win. By default the case list is built once and
-- reused; with "fresh" it is rebuilt for every select, as a one-off select would be written.
local K = 8

local function main(n, mode)
  n = math.tointeger(tonumber(n))
  if not n or n < 1 then return nil, "usage: main <selects> [fresh]" end
  local fresh = mode == "fresh"
  local chans, expected = {}, 0
  for k = 1, K do
    local ch = channel.new(0)
    chans[k] = ch
    local count = n // K + ((k <= n % K) and 1 or 0)
    expected = expected + count * (count + 1) // 2
    coroutine.spawn(function()
      for i = 1, count do ch:send(i) end
    end)
  end
  local timeout = time.after("1h")
  local cases = {}
  for k = 1, K do cases[k] = chans[k]:case_receive() end
  cases[K + 1] = timeout:case_receive()
  local sum = 0
  local t0 = time.now()
  for _ = 1, n do
    local r
    if fresh then
      r = channel.select {
        chans[1]:case_receive(), chans[2]:case_receive(), chans[3]:case_receive(),
        chans[4]:case_receive(), chans[5]:case_receive(), chans[6]:case_receive(),
        chans[7]:case_receive(), chans[8]:case_receive(), timeout:case_receive(),
      }
    else
      r = channel.select(cases)
    end
    if r.channel == timeout then return nil, "the time.after case won" end
    if not r.ok then return nil, "a producer channel closed" end
    sum = sum + r.value
  end
  local loop_ns = time.now():sub(t0):nanoseconds()
  if sum ~= expected then return nil, "wrong sum " .. sum .. ", expected " .. expected end
  return { ops = n, loop_ns = loop_ns }
end

return { main = main }
