//! SCTE-35 benchmarks: `cargo xtask bench scte35`.
//!
//! The same cues (the seven worked examples of ANSI/SCTE 35 2023 §14) are
//! parsed by threefive (the reference, in Python, measured in this run), by
//! `stagebox_media::scte35` natively, and through the bundled policy plugin
//! in WASM, whose `on-section` parses the cue and applies the policy. The
//! policy is also run natively, so WASM can be compared with native on the
//! same work.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_guest_artifacts as guests;
use stagebox_media::scte35::{SpliceInfoSection, policy};
use stagebox_plugins::types::StreamContext;
use stagebox_plugins::*;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

// The spec examples and the Python with threefive, as the SCTE-35 tests
// find them.
#[path = "../../media/tests/support/mod.rs"]
mod support;

/// The cues, base64.
fn cues() -> Vec<&'static str> {
    support::scte35_spec_examples().into_iter().map(|(_, b64)| b64).collect()
}

/// threefive's cues per second on the same cues (bytes in, decoded cue out).
fn threefive_rate() -> f64 {
    let script = format!(
        r#"
import base64, time, threefive
cues = [base64.b64decode(c) for c in {:?}]
best = 0
for _ in range(5):
    n, t = 0, time.perf_counter()
    while n < 2100:
        for c in cues:
            cue = threefive.Cue(c)
            cue.decode()
            n += 1
    best = max(best, n / (time.perf_counter() - t))
print(best)
"#,
        cues()
    );
    let out =
        Command::new(support::python()).arg("-c").arg(script).output().expect("run `cargo xtask setup` for target/py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

fn main() {
    let sections: Vec<Vec<u8>> =
        cues().iter().map(|c| SpliceInfoSection::from_text(c).unwrap().to_bytes().unwrap()).collect();
    let reference = threefive_rate();

    const ROUNDS: usize = 20_000;
    let native_parse = best_of(ROUNDS, || {
        for s in &sections {
            black_box(SpliceInfoSection::parse(black_box(s)).unwrap());
        }
    }) / sections.len() as f64;
    report("scte35_parse_native", 1.0 / native_parse, "cues/s", "threefive", reference);

    // Parsing in WASM: the policy plugin with nothing to annotate, so its
    // call is the parse plus the rule check.
    let runtime = Runtime::new().unwrap();
    let manifest = Manifest::from_toml("name = \"scte35\"\nversion = \"0.1.0\"\nworld = \"scte35-policy\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::SCTE35).unwrap(), manifest, &[]).unwrap());
    let limits = NodeLimits { deadline: Duration::from_secs(1), memory_bytes: 64 << 20, max_output_bytes: 1 << 20 };
    let quiet = r#"{"hls": [], "dash": []}"#;
    let mut wasm = Scte35Policy::new(plugin.clone(), "bench", quiet, limits).unwrap();
    let ctx = StreamContext { pid: 500, pts: 0, wall_clock: 0, channel: String::new() };
    let wasm_parse = best_of(ROUNDS / 10, || {
        for s in &sections {
            black_box(wasm.on_section(black_box(s), &ctx).unwrap());
        }
    }) / sections.len() as f64;
    report("scte35_parse_wasm", 1.0 / wasm_parse, "cues/s", "threefive", reference);

    let native_ctx = policy::StreamContext { pts: 0, wall_clock_tai_ns: 0 };
    let quiet_native = policy::Policy::from_json(quiet).unwrap();
    let native_quiet = best_of(ROUNDS, || {
        for s in &sections {
            black_box(quiet_native.on_section(black_box(s), &native_ctx).unwrap());
        }
    }) / sections.len() as f64;
    report("scte35_parse_wasm_vs_native", wasm_parse * 1e6, "us/cue", "native", native_quiet * 1e6);

    // The whole policy with every annotation, WASM against native.
    let mut full = Scte35Policy::new(plugin, "bench-full", "", limits).unwrap();
    let wasm_full = best_of(ROUNDS / 10, || {
        for s in &sections {
            black_box(full.on_section(black_box(s), &ctx).unwrap());
        }
    }) / sections.len() as f64;
    let full_native = policy::Policy::from_json("").unwrap();
    let native_full = best_of(ROUNDS / 10, || {
        for s in &sections {
            black_box(full_native.on_section(black_box(s), &native_ctx).unwrap());
        }
    }) / sections.len() as f64;
    report("scte35_policy_annotated_wasm_vs_native", wasm_full * 1e6, "us/cue", "native", native_full * 1e6);
}
