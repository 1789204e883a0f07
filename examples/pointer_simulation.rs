//! Rounds the convergence loop takes on the simulated guest: random moves on 1024x768 and
//! 1920x1080 screens for each acceleration profile of the property tests. Numbers for
//! docs/performance.md ("Pointer").
//!
//! ```sh
//! cargo run --release --example pointer_simulation -- [MOVES]
//! ```

use vncpilot::pointer::converge::log2_ceil;
use vncpilot::pointer::simulated::{Acceleration, SimulatedGuest};
use vncpilot::pointer::{Locator, MoveOptions, Pointer};

fn main() {
    let moves: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(6000);
    // A fixed linear congruential generator: the same moves on every run.
    let mut seed: u64 = 12345;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f64) / (1u64 << 31) as f64
    };
    let names = [
        "linear x1",
        "linear x2 (tolerance 1)",
        "X.org classic",
        "libinput adaptive",
        "Debian 12 installer curve",
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut stats = vec![(0u32, 0u64, 0u32, 0u32, 0u32); names.len()]; // moves, rounds, max, over bound, failed
    for _ in 0..moves {
        let (w, h) = if rnd() < 0.5 {
            (1024u32, 768u32)
        } else {
            (1920, 1080)
        };
        let start = ((rnd() * w as f64) as u32, (rnd() * h as f64) as u32);
        let target = ((rnd() * w as f64) as u32, (rnd() * h as f64) as u32);
        let k = ((rnd() * names.len() as f64) as usize).min(names.len() - 1);
        let (accel, tolerance) = match k {
            0 => (Acceleration::Linear { gain: 1.0 }, 0),
            1 => (Acceleration::Linear { gain: 2.0 }, 1),
            2 => (
                Acceleration::XorgClassic {
                    accel: 1.5 + 1.5 * rnd(),
                    threshold: 1.0 + 9.0 * rnd(),
                },
                0,
            ),
            3 => (
                Acceleration::LibinputAdaptive {
                    max_accel: 1.5 + 2.0 * rnd(),
                    threshold: 0.2 + 0.4 * rnd(),
                    incline: 0.8 + 0.7 * rnd(),
                    interval_ms: 8.0 + 112.0 * rnd(),
                },
                0,
            ),
            _ => (Acceleration::debian12_installer(), 0),
        };
        let guest = SimulatedGuest::new(w, h, start, accel);
        let locator = Locator::new(vec![guest.sprite().clone()]);
        let mut pointer = Pointer::new(guest, locator);
        let s = &mut stats[k];
        s.0 += 1;
        match rt.block_on(pointer.move_to(
            target.0,
            target.1,
            &MoveOptions {
                tolerance,
                ..MoveOptions::default()
            },
        )) {
            Ok(r) => {
                s.1 += r.rounds as u64;
                s.2 = s.2.max(r.rounds);
                if r.rounds > log2_ceil(r.distance) + 4 {
                    s.3 += 1;
                }
            }
            Err(_) => s.4 += 1,
        }
    }
    println!("| profile | moves | mean rounds | max rounds | over ⌈log2 d⌉+4 | failed |");
    println!("|---|---|---|---|---|---|");
    for (name, s) in names.iter().zip(&stats) {
        println!(
            "| {name} | {} | {:.2} | {} | {} | {} |",
            s.0,
            s.1 as f64 / s.0.max(1) as f64,
            s.2,
            s.3,
            s.4
        );
    }
}
