-- SPEC §2.2 Messages (plus coroutines inside a process, §2).
-- One test per method; each method name is the behaviour it checks.
local assert = require("assert")
local helpers = require("helpers")

local HOST = "app:processes"
local W = "test.messages:workers:"

local T = {}
local recv, wait_event = helpers.recv, helpers.wait_event

local function self_send(topic, ...)
  return process.send(process.pid(), topic, ...)
end

-- ----- process.send: results and errors --------------------------------------------------

function T.send_returns_true()
  local r, err = self_send("t", 1)
  assert.eq(r, true)
  assert.eq(err, nil)
  return true
end

function T.send_without_arguments_fails()
  local r, err = process.send()
  assert.eq(r, nil)
  assert.eq(err, "send requires at least destination and topic arguments")
  return true
end

function T.send_with_only_destination_fails()
  local r, err = process.send(process.pid())
  assert.eq(r, nil)
  assert.eq(err, "send requires at least destination and topic arguments")
  return true
end

function T.send_to_at_topic_fails()
  local r, err = self_send("@exit", 1)
  assert.eq(r, nil)
  assert.eq(err, "cannot send to @ topics")
  r, err = self_send("@")
  assert.eq(r, nil)
  assert.eq(err, "cannot send to @ topics")
  return true
end

function T.send_to_unregistered_name_fails()
  local r, err = process.send("no.such.name", "t", 1)
  assert.eq(r, nil)
  assert.eq(err, "could not resolve 'no.such.name' as PID or registered name")
  return true
end

function T.send_to_malformed_pid_fails()
  for _, dest in ipairs({ "{app:processes|12", "{app:processes|abc}", "{}" }) do
    local r, err = process.send(dest, "t", 1)
    assert.eq(r, nil, dest)
    assert.eq(err, "could not resolve '" .. dest .. "' as PID or registered name", dest)
  end
  return true
end

function T.send_to_name_of_ended_process_fails()
  local pid = assert(process.spawn_monitored(W .. "waiter", HOST))
  assert.eq(process.registry.register("test.messages.gone", pid), true)
  assert.eq(process.send(pid, "stop"), true)
  wait_event("pid.exit", pid)
  local r, err = process.send("test.messages.gone", "t", 1)
  assert.eq(r, nil)
  assert.eq(err, "could not resolve 'test.messages.gone' as PID or registered name")
  return true
end

-- HELPERS decision: bad argument types give `nil, "<func>: bad argument #n (expected X, got Y)"`.
function T.send_with_non_string_topic_returns_bad_argument()
  local r, err = process.send(process.pid(), 5)
  assert.eq(r, nil)
  assert.eq(err, "send: bad argument #2 (expected string, got number)")
  return true
end

function T.send_with_table_destination_returns_bad_argument()
  local r, err = process.send({}, "t")
  assert.eq(r, nil)
  assert.eq(err, "send: bad argument #1 (expected string, got table)")
  return true
end

function T.send_to_ended_process_fails_with_process_not_found()
  local pid = assert(process.spawn_monitored(W .. "instant", HOST))
  wait_event("pid.exit", pid)
  local r, err = process.send(pid, "t", 1)
  assert.eq(r, nil)
  assert.eq(err, "process not found")
  return true
end

function T.send_to_self_is_delivered()
  local ch = process.listen("me")
  assert.eq(self_send("me", "hello"), true)
  assert.eq(recv(ch), "hello")
  return true
end

function T.send_to_registered_name_is_delivered()
  assert.eq(process.registry.register("test.messages.self"), true)
  local ch = process.listen("named", { message = true })
  assert.eq(process.send("test.messages.self", "named", 5), true)
  local msg = recv(ch)
  assert.eq(msg:payload():data(), 5)
  assert.eq(msg:from(), process.pid())
  return true
end

-- ----- ordering and the mailbox ----------------------------------------------------------

function T.messages_to_a_child_arrive_in_send_order()
  local pid = assert(process.spawn(W .. "collect", HOST, process.pid(), "seq", 100))
  for i = 1, 100 do
    assert.eq(process.send(pid, "seq", i), true)
  end
  local got = recv(process.listen("collected"), nil, "2s")
  local want = {}
  for i = 1, 100 do want[i] = i end
  assert.same(got, want)
  return true
end

function T.messages_from_a_child_arrive_in_send_order()
  local ch = process.listen("seq")
  assert(process.spawn(W .. "burst", HOST, process.pid(), 100))
  for i = 1, 100 do
    assert.eq(recv(ch), i)
  end
  return true
end

function T.inbox_keeps_arrival_order_across_topics()
  self_send("a", 1)
  self_send("b", 2)
  self_send("c", 3)
  local inbox = process.inbox()
  local got = {}
  for i = 1, 3 do
    local msg = recv(inbox)
    got[i] = msg:topic() .. "=" .. tostring(msg:payload():data())
  end
  assert.same(got, { "a=1", "b=2", "c=3" })
  return true
end

function T.messages_wait_in_mailbox_while_nobody_receives()
  local pid = assert(process.spawn_monitored(W .. "send_three", HOST, process.pid()))
  wait_event("pid.exit", pid) -- the sender is gone; its messages must still be here
  local inbox = process.inbox()
  for i = 1, 3 do
    local msg = recv(inbox)
    assert.eq(msg:topic(), "m")
    assert.eq(msg:from(), pid)
    assert.eq(msg:payload():data(), i)
  end
  return true
end

function T.full_listen_channel_does_not_block_other_topics()
  local a = process.listen("a")
  local b = process.listen("b")
  self_send("a", 1)
  self_send("a", 2)
  self_send("b", 3)
  assert.eq(recv(b), 3)
  assert.eq(recv(a), 1)
  assert.eq(recv(a), 2)
  return true
end

-- ----- raw listen mode -------------------------------------------------------------------

function T.raw_listen_delivers_nil_for_zero_payloads()
  local ch = process.listen("t")
  self_send("t")
  local v, ok = recv(ch)
  assert.eq(ok, true)
  assert.eq(v, nil)
  return true
end

function T.raw_listen_delivers_the_value_for_one_payload()
  local ch = process.listen("t")
  self_send("t", { a = 1 })
  local v, ok = recv(ch)
  assert.eq(ok, true)
  assert.same(v, { a = 1 })
  return true
end

function T.raw_listen_delivers_an_array_for_several_payloads()
  local ch = process.listen("t")
  self_send("t", 1, "two", { three = 3 })
  local v, ok = recv(ch)
  assert.eq(ok, true)
  assert.same(v, { 1, "two", { three = 3 } })
  return true
end

function T.listen_only_delivers_its_own_topic()
  local a = process.listen("a")
  local b = process.listen("b")
  self_send("b", "for b")
  self_send("a", "for a")
  assert.eq(recv(a), "for a")
  assert.eq(recv(b), "for b")
  return true
end

function T.listen_returns_same_channel_for_same_topic()
  local ch1 = process.listen("same")
  local ch2 = process.listen("same")
  assert.truthy(rawequal(ch1, ch2))
  assert.truthy(ch1 ~= process.listen("other"))
  return true
end

function T.listen_with_message_option_later_returns_same_channel_in_message_mode()
  local raw = process.listen("t")
  local msgch = process.listen("t", { message = true })
  assert.truthy(rawequal(raw, msgch))
  self_send("t", "x")
  local msg = recv(raw)
  assert.eq(msg:topic(), "t")
  assert.eq(msg:payload():data(), "x")
  return true
end

function T.listen_to_empty_topic_fails()
  local ch, err = process.listen("")
  assert.eq(ch, nil)
  assert.eq(err, "topic cannot be empty")
  return true
end

function T.listen_with_non_string_topic_returns_bad_argument()
  local ch, err = process.listen(5)
  assert.eq(ch, nil)
  assert.eq(err, "listen: bad argument #1 (expected string, got number)")
  return true
end

function T.listen_to_at_topic_fails()
  local ch, err = process.listen("@events")
  assert.eq(ch, nil)
  assert.eq(err, "cannot listen to @ topics")
  return true
end

-- ----- message objects -------------------------------------------------------------------

function T.message_mode_delivers_topic_from_and_payload()
  local ch = process.listen("greet", { message = true })
  self_send("greet", "hi")
  local msg = recv(ch)
  assert.eq(msg:topic(), "greet")
  assert.eq(msg:from(), process.pid())
  assert.eq(msg:payload():data(), "hi")
  return true
end

function T.message_from_is_the_sending_child_pid()
  local ch = process.listen("m", { message = true })
  local pid = assert(process.spawn(W .. "send_three", HOST, process.pid()))
  local msg = recv(ch)
  assert.eq(msg:from(), pid)
  return true
end

function T.message_payload_is_nil_for_zero_payloads()
  local ch = process.listen("t", { message = true })
  self_send("t")
  local msg = recv(ch)
  assert.eq(msg:payload(), nil)
  return true
end

function T.message_payload_is_payload_object_for_one_nil_payload()
  local ch = process.listen("t", { message = true })
  self_send("t", nil)
  local msg = recv(ch)
  local p = msg:payload()
  assert.truthy(p ~= nil, "one payload (nil) must give a payload object")
  assert.eq(p:data(), nil)
  return true
end

function T.message_payload_data_returns_a_table_value()
  local ch = process.listen("t", { message = true })
  self_send("t", { a = 1, list = { "x", "y" } })
  local msg = recv(ch)
  assert.same(msg:payload():data(), { a = 1, list = { "x", "y" } })
  return true
end

function T.message_payload_is_array_of_payload_objects_for_several_payloads()
  local ch = process.listen("t", { message = true })
  self_send("t", 1, "two", { three = 3 })
  local msg = recv(ch)
  local p = msg:payload()
  assert.eq(type(p), "table")
  assert.eq(#p, 3)
  assert.eq(p[1]:data(), 1)
  assert.eq(p[2]:data(), "two")
  assert.same(p[3]:data(), { three = 3 })
  return true
end

function T.tostring_of_message_names_the_topic()
  local ch = process.listen("greeting_topic", { message = true })
  self_send("greeting_topic", 1)
  local msg = recv(ch)
  assert.contains(tostring(msg), "greeting_topic")
  return true
end

-- ----- unlisten --------------------------------------------------------------------------

function T.unlisten_returns_true_and_closes_the_channel()
  local ch = process.listen("t")
  local r, err = process.unlisten(ch)
  assert.eq(r, true)
  assert.eq(err, nil)
  local v, ok = recv(ch)
  assert.eq(v, nil)
  assert.eq(ok, false)
  return true
end

function T.unlisten_twice_fails_with_channel_not_found()
  local ch = process.listen("t")
  assert.eq(process.unlisten(ch), true)
  local r, err = process.unlisten(ch)
  assert.eq(r, false)
  assert.eq(err, "channel not found")
  return true
end

function T.unlisten_of_plain_channel_fails_with_channel_not_found()
  local r, err = process.unlisten(channel.new(1))
  assert.eq(r, false)
  assert.eq(err, "channel not found")
  return true
end

function T.messages_after_unlisten_fall_back_to_inbox()
  local ch = process.listen("t")
  assert.eq(process.unlisten(ch), true)
  self_send("t", 9)
  local msg = recv(process.inbox())
  assert.eq(msg:topic(), "t")
  assert.eq(msg:payload():data(), 9)
  return true
end

function T.listen_after_unlisten_receives_again()
  local ch = process.listen("t")
  assert.eq(process.unlisten(ch), true)
  local ch2 = process.listen("t")
  self_send("t", "again")
  assert.eq(recv(ch2), "again")
  return true
end

function T.unlisten_with_pending_messages_keeps_first_and_returns_rest_to_inbox()
  local ch = process.listen("r")
  self_send("r", 1)
  self_send("r", 2)
  self_send("r", 3)
  assert.eq(process.unlisten(ch), true)
  local v, ok = recv(ch)
  assert.eq(v, 1)
  assert.eq(ok, true)
  v, ok = recv(ch)
  assert.eq(ok, false)
  local inbox = process.inbox()
  for i = 2, 3 do
    local msg = recv(inbox)
    assert.eq(msg:topic(), "r")
    assert.eq(msg:payload():data(), i)
  end
  return true
end

-- ----- inbox -----------------------------------------------------------------------------

function T.inbox_returns_same_channel_every_call()
  assert.truthy(rawequal(process.inbox(), process.inbox()))
  return true
end

function T.inbox_receives_message_objects_for_unlistened_topics()
  self_send("loose", "v")
  local msg = recv(process.inbox())
  assert.eq(msg:topic(), "loose")
  assert.eq(msg:from(), process.pid())
  assert.eq(msg:payload():data(), "v")
  return true
end

function T.listened_topics_do_not_reach_the_inbox()
  local ch = process.listen("taken")
  self_send("taken", 1)
  self_send("free", 2)
  local msg = recv(process.inbox())
  assert.eq(msg:topic(), "free")
  assert.eq(recv(ch), 1)
  return true
end

function T.message_that_arrived_before_listen_goes_to_the_new_listener()
  local pid = assert(process.spawn_monitored(W .. "send_three", HOST, process.pid()))
  wait_event("pid.exit", pid) -- all three messages have arrived, none delivered yet
  local ch = process.listen("m")
  for i = 1, 3 do
    assert.eq(recv(ch), i)
  end
  local r = channel.select({ process.inbox():case_receive(), default = true })
  assert.eq(r.default, true, "inbox must be empty")
  return true
end

-- ----- echo round trip -------------------------------------------------------------------

function T.echo_worker_sends_back_payload_object_as_its_value()
  local echo = assert(process.spawn(W .. "echo", HOST))
  local replies = process.listen("echo")
  assert.eq(process.send(echo, "ping", { a = 1, list = { "x", "y" } }), true)
  assert.same(recv(replies), { a = 1, list = { "x", "y" } })
  assert.eq(process.send(echo, "ping", "text"), true)
  assert.eq(recv(replies), "text")
  return true
end

function T.echo_reply_comes_from_the_echo_pid()
  local echo = assert(process.spawn(W .. "echo", HOST))
  local replies = process.listen("echo", { message = true })
  assert.eq(process.send(echo, "ping", 42), true)
  local msg = recv(replies)
  assert.eq(msg:from(), echo)
  assert.eq(msg:topic(), "echo")
  assert.eq(msg:payload():data(), 42)
  return true
end

-- ----- coroutines inside a process -------------------------------------------------------

function T.blocking_receive_inside_coroutine_create_resumes_it()
  local ch = process.listen("later")
  assert(process.spawn(W .. "delayed_send", HOST, process.pid(), "later", 42))
  local co = coroutine.create(function(a)
    local v = ch:receive() -- blocks the whole process until the message comes
    local b = coroutine.yield(v + a)
    return b * 2
  end)
  local ok, r = coroutine.resume(co, 1)
  assert.eq(ok, true)
  assert.eq(r, 43)
  assert.eq(coroutine.status(co), "suspended")
  ok, r = coroutine.resume(co, 5)
  assert.eq(ok, true)
  assert.eq(r, 10)
  assert.eq(coroutine.status(co), "dead")
  return true
end

function T.blocking_inbox_receive_inside_nested_coroutine_wrap_resumes_it()
  assert(process.spawn(W .. "delayed_send", HOST, process.pid(), "late_inbox", "v"))
  local outer = coroutine.wrap(function()
    local inner = coroutine.wrap(function()
      local msg = process.inbox():receive()
      coroutine.yield(msg:topic())
      return msg:payload():data()
    end)
    local topic = inner()
    coroutine.yield(topic)
    return inner()
  end)
  assert.eq(outer(), "late_inbox")
  assert.eq(outer(), "v")
  return true
end

function T.coroutine_spawn_shares_the_process_pid()
  local out = channel.new(1)
  coroutine.spawn(function()
    out:send({ pid = process.pid(), id = process.id() })
  end)
  local got = recv(out)
  assert.eq(got.pid, process.pid())
  assert.eq(got.id, process.id())
  return true
end

function T.coroutine_spawn_shares_the_process_mailbox()
  local out = channel.new(1)
  coroutine.spawn(function()
    local msg = process.inbox():receive()
    out:send({ topic = msg:topic(), data = msg:payload():data() })
  end)
  assert.eq(self_send("shared", 7), true)
  assert.same(recv(out), { topic = "shared", data = 7 })
  return true
end

function T.coroutine_spawn_sends_with_the_process_pid()
  local ch = process.listen("from_co", { message = true })
  coroutine.spawn(function()
    process.send(process.pid(), "from_co", 1)
  end)
  local msg = recv(ch)
  assert.eq(msg:from(), process.pid())
  return true
end

function T.error_in_coroutine_spawn_fails_the_whole_process()
  local pid = assert(process.spawn_monitored(W .. "co_fail", HOST))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.result.value, nil)
  assert.contains(ev.error, "coroutine boom")
  assert.truthy(ev.error:match(":%d+: coroutine boom$"), "error " .. ev.error)
  return true
end

function T.error_in_coroutine_spawn_after_blocking_fails_the_whole_process()
  local pid = assert(process.spawn_monitored(W .. "co_fail_later", HOST))
  local ev = wait_event("pid.exit", pid)
  assert.eq(ev.result.value, nil)
  assert.truthy(ev.error:match(":%d+: late coroutine boom$"), "error " .. tostring(ev.error))
  return true
end

-- Received messages are reused for later sends (their record and topic buffer): a reused
-- one must carry only its new topic, sender and payloads, never the old ones.
function T.reused_messages_carry_only_their_own_topic_and_payloads()
  local long = process.listen("a-longer-topic-buffer")
  local short = process.listen("s")
  local inbox = process.inbox()
  for i = 1, 200 do
    assert.eq(self_send("a-longer-topic-buffer", i), true)
    assert.eq(long:receive(), i)
    assert.eq(self_send("s", "v" .. i), true)
    assert.eq(short:receive(), "v" .. i)
    assert.eq(self_send("t", i * 2), true)
    local msg = inbox:receive()
    assert.eq(msg:topic(), "t")
    assert.eq(msg:from(), process.pid())
    assert.eq(msg:payload():data(), i * 2)
  end
  return true
end

-- ----- message and payload objects ---------------------------------------------------------

-- Message and payload objects are opaque: no metatable to reach, named by tostring and in
-- error messages, and their methods read only their own kind of object.
function T.message_objects_are_opaque_and_name_themselves()
  self_send("obj", 7)
  local m = process.inbox():receive()
  assert.eq(type(m), "userdata")
  assert.eq(getmetatable(m), false)
  assert.eq(tostring(m), "message: obj")
  local p = m:payload()
  assert.eq(type(p), "userdata")
  assert.eq(getmetatable(p), false)
  assert.eq(tostring(p), "payload")
  assert.eq(p:data(), 7)
  assert.eq(p:data(), 7, "data() can be read again")
  local ok, err = pcall(function() m.x = 1 end)
  assert.eq(ok, false)
  assert.truthy(err:find("attempt to index a message value", 1, true), err)
  return true
end

function T.message_methods_refuse_other_objects()
  self_send("obj", 1)
  local m = process.inbox():receive()
  local p = m:payload()
  local cases = {
    { m.topic, {}, "Message:topic: bad argument #1 (expected message, got table)" },
    { m.from, p, "Message:from: bad argument #1 (expected message, got userdata)" },
    { m.payload, nil, "Message:payload: bad argument #1 (expected message, got nil)" },
    { p.data, m, "Payload:data: bad argument #1 (expected payload, got userdata)" },
    { m.topic, time.timer("1h"), "Message:topic: bad argument #1 (expected message, got userdata)" },
  }
  for _, c in ipairs(cases) do
    local ok, err = pcall(c[1], c[2])
    assert.eq(ok, false)
    assert.eq(err, c[3])
  end
  return true
end

-- Each payload of a message is its own object; forwarding one sends its value.
function T.payload_objects_of_many_values_forward_alone()
  self_send("many", "a", { k = "v" }, 3)
  local m = process.inbox():receive()
  local ps = m:payload()
  assert.eq(type(ps), "table")
  assert.eq(#ps, 3)
  assert.eq(ps[1]:data(), "a")
  assert.eq(ps[2]:data().k, "v")
  assert.eq(ps[3]:data(), 3)
  self_send("fwd", ps[2], m:payload()[2])
  local f = process.inbox():receive()
  local both = f:payload()
  assert.eq(both[1]:data().k, "v")
  assert.eq(both[2]:data().k, "v")
  assert.eq(f:from(), process.pid())
  assert.eq(f:topic(), "fwd")
  return true
end

-- Called with more arguments than the hot path reads (8), every method takes the Lua
-- binding and gives the same results.
function T.object_methods_with_many_arguments_give_the_same_results()
  self_send("many_args", { a = 1 })
  local m = process.inbox():receive()
  assert.eq(m.topic(m, 1, 2, 3, 4, 5, 6, 7, 8), "many_args")
  assert.eq(m.from(m, 1, 2, 3, 4, 5, 6, 7, 8), process.pid())
  local p = m.payload(m, 1, 2, 3, 4, 5, 6, 7, 8)
  assert.eq(p.data(p, 1, 2, 3, 4, 5, 6, 7, 8).a, 1)
  local t = time.timer("1h")
  assert.truthy(t.channel(t, 1, 2, 3, 4, 5, 6, 7, 8) == t:channel())
  assert.eq(t.reset(t, "2h", 1, 2, 3, 4, 5, 6, 7, 8), true)
  assert.eq(t.stop(t, 1, 2, 3, 4, 5, 6, 7, 8), true)
  local k = time.ticker("1h")
  assert.eq(k.period(k, 1, 2, 3, 4, 5, 6, 7, 8):nanoseconds(), 3600 * 1000000000)
  assert.eq(k.stop(k, 1, 2, 3, 4, 5, 6, 7, 8), true)
  assert.truthy(tostring(channel.new(1, 2, 3, 4, 5, 6, 7, 8, 9)):match("^channel: "))
  return true
end

return T
