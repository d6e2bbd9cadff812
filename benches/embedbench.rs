// embedbench: the embedding figures of BENCH.md, driven through the public Rust API.
//
//   frame      run_for(2ms) next to a spinner (a script that never yields), 1,000 frames:
//              worst and p99 frame time (target: worst <= budget + 1 ms, p99 <= budget +
//              0.2 ms on an idle machine)
//   mailbox    a host-mailbox round trip: Rust send_from -> Lua echo -> Rust try_recv,
//              in ns (target <= 1 us)
//
// cargo bench --bench embedbench              # 1,000 frames, 100,000 round trips
// cargo bench --bench embedbench -- --quick   # 100 frames, 10,000 round trips (CI)
// cargo bench --bench embedbench -- --mailbox N  # N round trips alone (for callgrind:
//                                                # benches/instructions.sh `host_mailbox`)
//
// Prints one markdown table; exits 1 if a workload fails.

use moonhost::{App, Delivery, Payload, Runtime, Step};
use std::time::{Duration, Instant};

const BUDGET: Duration = Duration::from_millis(2);

fn app() -> App {
    App::load(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/apps/embed")).expect("app loads")
}

fn frames(n: usize) -> Result<(Duration, Duration, Duration), String> {
    let mut rt = Runtime::builder()
        .manual_clock()
        .build(&app())
        .map_err(|e| e.to_string())?;
    rt.spawn("bench.embed:spinner", "app:processes", vec![])
        .map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        rt.advance_clock(Duration::from_micros(16_667))
            .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        match rt.run_for(BUDGET).map_err(|e| e.to_string())? {
            Step::Busy => {}
            other => return Err(format!("expected Busy next to a spinner, got {other:?}")),
        }
        times.push(t0.elapsed());
    }
    times.sort();
    Ok((times[n / 2], times[n * 99 / 100], times[n - 1]))
}

fn round_trips(n: usize) -> Result<f64, String> {
    let mut rt = Runtime::builder()
        .manual_clock()
        .build(&app())
        .map_err(|e| e.to_string())?;
    let host = rt.mailbox("host").map_err(|e| e.to_string())?;
    let echo = rt
        .spawn("bench.embed:echo", "app:processes", vec![])
        .map_err(|e| e.to_string())?
        .to_string();
    let t0 = Instant::now();
    for i in 0..n {
        rt.send_from(&host, &echo, "ping", Payload::Int(i as i64))
            .map_err(|e| e.to_string())?;
        // One frame normally carries the whole round trip; a slow machine (or callgrind)
        // may need more.
        let mut got = None;
        for _ in 0..1_000 {
            rt.run_for(BUDGET).map_err(|e| e.to_string())?;
            got = host.try_recv();
            if got.is_some() {
                break;
            }
        }
        match got {
            Some(Delivery::Message { payload, .. }) if payload == Payload::Int(i as i64) => {}
            other => return Err(format!("round trip {i}: got {other:?}")),
        }
    }
    Ok(t0.elapsed().as_nanos() as f64 / n as f64)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--mailbox") {
        let n = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        match round_trips(n) {
            Ok(ns) => println!("host-mailbox round trip: {ns:.0} ns ({n})"),
            Err(e) => {
                println!("host-mailbox round trip FAILED: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (nf, nr) = if quick {
        (100, 10_000)
    } else {
        (1_000, 100_000)
    };
    let mut failed = false;
    println!("| workload | figure | target |\n|---|---|---|");
    match frames(nf) {
        Ok((median, p99, worst)) => println!(
            "| frame (run_for 2 ms next to a spinner, {nf} frames) | median {:.3} ms, p99 {:.3} ms, worst {:.3} ms | worst <= 3 ms, p99 <= 2.2 ms |",
            ms(median),
            ms(p99),
            ms(worst)
        ),
        Err(e) => {
            println!("| frame | FAILED: {e} | |");
            failed = true;
        }
    }
    match round_trips(nr) {
        Ok(ns) => println!(
            "| host-mailbox round trip (Rust -> Lua -> Rust, {nr}) | {ns:.0} ns | <= 1,000 ns |"
        ),
        Err(e) => {
            println!("| host-mailbox round trip | FAILED: {e} | |");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
