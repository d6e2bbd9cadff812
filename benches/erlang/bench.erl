%% Erlang reference workloads of BENCH.md, for side-by-side wall-clock comparison with
%% moonhost's benches/apps (same operations, same sizes). Run with benches/erlang/run.sh:
%%   erl +S 1 -noshell -pa <dir> -eval 'bench:main([ring, 1000, 1000000])' -s init stop
%% Each prints "<workload> <ns per op>".
-module(bench).
-export([main/1, ring_node/1, ponger/0]).

main([ring, N, Hops]) -> report(ring, Hops, fun() -> ring(N, Hops) end);
main([pingpong, Rounds]) -> report(pingpong, Rounds, fun() -> pingpong(Rounds) end);
main([spawn_exit, N]) -> report(spawn_exit, N, fun() -> spawn_exit(N) end).

report(Name, Ops, F) ->
    T0 = erlang:monotonic_time(nanosecond),
    F(),
    Ns = erlang:monotonic_time(nanosecond) - T0,
    io:format("~p ~.1f~n", [Name, Ns / Ops]).

%% ring: N processes, one token forwarded Hops times; the node that sees 0 tells the root.
ring(N, Hops) ->
    Me = self(),
    Nodes = [spawn(?MODULE, ring_node, [Me]) || _ <- lists:seq(1, N)],
    Succs = tl(Nodes) ++ [hd(Nodes)],
    [P ! {next, S} || {P, S} <- lists:zip(Nodes, Succs)],
    hd(Nodes) ! {token, Hops},
    receive done -> ok end.

ring_node(Root) ->
    receive {next, Succ} -> ring_loop(Root, Succ) end.

ring_loop(Root, Succ) ->
    receive
        {token, 0} -> Root ! done;
        {token, Left} -> Succ ! {token, Left - 1}, ring_loop(Root, Succ)
    end.

%% pingpong: Rounds round trips between two processes.
pingpong(Rounds) ->
    P = spawn(?MODULE, ponger, []),
    ping(P, Rounds),
    P ! stop.

ping(_, 0) -> ok;
ping(P, K) ->
    P ! {ping, self(), K},
    receive {pong, K} -> ping(P, K - 1) end.

ponger() ->
    receive
        {ping, From, K} -> From ! {pong, K}, ponger();
        stop -> ok
    end.

%% spawn_exit: N monitored children that return at once; every 'DOWN' received.
spawn_exit(N) ->
    [spawn_monitor(fun() -> ok end) || _ <- lists:seq(1, N)],
    downs(N).

downs(0) -> ok;
downs(K) -> receive {'DOWN', _, process, _, normal} -> downs(K - 1) end.
