//! Loudness benchmarks: `cargo xtask bench loudness`.
//!
//! One minute of 48 kHz stereo programme-like audio is metered (momentary,
//! short-term, integrated, range and true peak) in 10 ms blocks, as a flow
//! delivers it: natively with `stagebox_media::loudness`, and through the
//! bundled loudness plugin in WASM, blocks copied in and out included.
//! ffmpeg's `ebur128` filter on the same audio is the outside reference.
//! Figures are multiples of real time (seconds of audio per second).

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_guest_artifacts as guests;
use stagebox_media::loudness::Meter;
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../../media/tests/support/mod.rs"]
mod support;

const RATE: u32 = 48_000;
const SECONDS: f64 = 60.0;
const BLOCK: usize = 480;

/// ffmpeg's `ebur128=peak=true` on the same audio, as raw float PCM.
fn ffmpeg_rate(interleaved: &[f32]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("programme.f32");
    std::fs::write(&path, interleaved.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new("ffmpeg")
                .args(["-hide_banner", "-nostats", "-f", "f32le", "-ar", "48000", "-ac", "2", "-i"])
                .arg(&path)
                .args(["-filter_complex", "ebur128=peak=true", "-f", "null", "-"])
                .output()
                .expect("ffmpeg is installed by `cargo xtask setup`");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    SECONDS / best
}

fn main() {
    let interleaved = support::programme(RATE, 2, SECONDS);
    let frames = interleaved.len() / 2;
    // Planar 10 ms blocks, as grains of an audio flow.
    let blocks: Vec<Vec<f32>> = interleaved
        .chunks(BLOCK * 2)
        .map(|c| (0..2).flat_map(|ch| c.iter().skip(ch).step_by(2).copied()).collect())
        .collect();
    assert_eq!(blocks.iter().map(Vec::len).sum::<usize>(), frames * 2);

    let reference = ffmpeg_rate(&interleaved);

    let native = best_of(1, || {
        // Read every 100 ms of audio, as the plugin does.
        let mut meter = Meter::new(RATE, 2).unwrap();
        for (i, b) in blocks.iter().enumerate() {
            meter.add_planar(black_box(b)).unwrap();
            if i % 10 == 9 {
                black_box(meter.reading());
            }
        }
    });
    report("loudness_native_realtime", SECONDS / native, "x", "ffmpeg_ebur128", reference);

    let runtime = Runtime::new().unwrap();
    let manifest = Manifest::from_toml("name = \"loudness\"\nversion = \"0.1.0\"\nworld = \"audio-node\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::LOUDNESS).unwrap(), manifest, &[]).unwrap());
    let limits =
        NodeLimits { deadline: Duration::from_secs(1), ..NodeLimits::for_period(&plugin, Duration::from_millis(10)) };
    let grains: Vec<AudioBlock> = blocks
        .into_iter()
        .enumerate()
        .map(|(i, samples)| AudioBlock {
            info: GrainInfo { index: i as u64, timestamp: i as u64 * 10_000_000, invalid: false },
            format: AudioFormat { sample_rate: RATE, channels: 2 },
            samples,
        })
        .collect();
    let wasm = best_of(1, || {
        // A fresh node each run: a new programme, as natively.
        let mut node = AudioNode::new(plugin.clone(), "bench", "", limits).unwrap();
        for g in &grains {
            black_box(node.process(black_box(g)).unwrap());
        }
    });
    report("loudness_wasm_realtime", SECONDS / wasm, "x", "native", SECONDS / native);
}
