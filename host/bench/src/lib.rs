//! Helpers shared by Stagebox's benchmarks (`cargo xtask bench`).

#![forbid(unsafe_code)]

use std::time::Instant;

/// Prints one figure as `BENCH <name> <value> <unit> ref=<ref>:<value> ratio=<value/ref>`.
/// A ratio under 0.01 gets enough digits to show it.
pub fn report(name: &str, value: f64, unit: &str, ref_name: &str, ref_value: f64) {
    let ratio = value / ref_value;
    let digits = if ratio.abs() < 0.01 { 6 } else { 3 };
    println!("BENCH {name} {value:.3} {unit} ref={ref_name}:{ref_value:.3} ratio={ratio:.digits$}");
}

/// Runs `f` `iterations` times, five times over, and returns the best
/// run's seconds per iteration (the least disturbed by the rest of the box).
pub fn best_of<F: FnMut()>(iterations: usize, mut f: F) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iterations {
                f();
            }
            t.elapsed().as_secs_f64() / iterations as f64
        })
        .fold(f64::INFINITY, f64::min)
}
