//! A 60 Hz game loop embedding moonhost (SPEC §13): a manual clock the game advances by one
//! frame at a time, input events sent to an AI process, replies drained from a host
//! mailbox every frame, a 2 ms script budget per frame, and a deliberately runaway script
//! that preemption keeps from eating the frame. Prints a frame-time summary.
//!
//! ```sh
//! cargo run --release --example game_loop
//! ```

use moonhost::{App, Delivery, Payload, Runtime, Step};
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_micros(16_667);
const BUDGET: Duration = Duration::from_millis(2);
const FRAMES: usize = 600;

fn main() -> moonhost::Result<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/game");
    let app = App::load(dir)?;
    let mut rt = Runtime::builder()
        .manual_clock()
        .on_crash(|r| eprintln!("script crashed: {r}"))
        .build(&app)?;
    let game = rt.mailbox("game")?;
    let ai = rt.spawn("game:ai", "app:processes", vec![])?.to_string();
    rt.spawn("game:runaway", "app:processes", vec![])?;
    rt.spawn("game:waves", "app:processes", vec![])?;

    let keys = ["right", "right", "left", "none"];
    let (mut moves, mut waves, mut x) = (0, 0, 0);
    let mut script_time = Vec::with_capacity(FRAMES);
    for frame in 0..FRAMES {
        // Input of this frame goes to the AI.
        let key = keys[frame % keys.len()];
        let input = Payload::encode(&Input { frame, key }).expect("encodes");
        rt.send_from(&game, &ai, "input", input)?;
        // The game's clock moves one frame; timers due by now become ready.
        rt.advance_clock(FRAME)?;
        let t0 = Instant::now();
        match rt.run_for(BUDGET)? {
            Step::Idle { .. } | Step::Busy => {}
            other => println!("frame {frame}: {other:?}"),
        }
        script_time.push(t0.elapsed());
        while let Some(d) = game.try_recv() {
            match d {
                Delivery::Message { topic, payload, .. } if topic == "move" => {
                    let m: Move = payload.decode().expect("a move");
                    x = m.x;
                    moves += 1;
                }
                Delivery::Message { topic, .. } if topic == "wave" => waves += 1,
                other => println!("frame {frame}: unexpected {other:?}"),
            }
        }
    }
    script_time.sort();
    let median = script_time[FRAMES / 2];
    let p99 = script_time[FRAMES * 99 / 100];
    let worst = *script_time.last().expect("frames ran");
    println!("{FRAMES} frames of {FRAME:?} game time, script budget {BUDGET:?} per frame");
    println!("AI moves received: {moves} (x = {x}); waves: {waves} (one per 250 ms)");
    println!(
        "script time per frame: median {:.3} ms, p99 {:.3} ms, worst {:.3} ms",
        ms(median),
        ms(p99),
        ms(worst)
    );
    let limit = BUDGET + Duration::from_millis(1);
    println!(
        "worst frame {} the budget plus 1 ms ({:.3} ms)",
        if worst <= limit { "within" } else { "OVER" },
        ms(limit)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[derive(serde::Serialize)]
struct Input<'a> {
    frame: usize,
    key: &'a str,
}

#[derive(serde::Deserialize)]
struct Move {
    #[allow(dead_code)]
    frame: usize,
    x: i64,
}
