//! Caption benchmarks: `cargo xtask bench captions`.
//!
//! CEA-608 decoding throughput, in byte pairs per second, on the pairs of
//! an SCC document of 3,000 generated cues (about 4 hours) (every character class, pop-on):
//! - natively, SCC text in, cues out, against ffmpeg reading the same SCC
//!   (its scc demuxer and ccaption_dec, writing SRT), measured in this run;
//! - through the bundled caption-converter plugin, one `decode-cc` call per
//!   frame as a live channel makes them, against the native decoder fed
//!   the same way.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_guest_artifacts as guests;
use stagebox_media::captions::{self, CaptionSource, CcDecoder, TextFormat, read_scc_pairs};
use stagebox_plugins::*;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../../media/tests/support/mod.rs"]
mod support;

fn main() {
    let cues = support::generated_cues(3000);
    let scc = captions::write(&cues, TextFormat::Scc).unwrap();
    let pairs = read_scc_pairs(&scc).unwrap();
    let n = pairs.len() as f64;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.scc");
    std::fs::write(&path, &scc).unwrap();
    let ffmpeg = (0..3)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new("ffmpeg")
                .args(["-hide_banner", "-loglevel", "error", "-i"])
                .arg(&path)
                .args(["-f", "srt", "-"])
                .output()
                .expect("ffmpeg is installed by `cargo xtask setup`");
            assert!(out.status.success());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let native_doc = best_of(3, || {
        black_box(captions::read(black_box(&scc), TextFormat::Scc).unwrap());
    });
    report("captions_scc_608_decode_native", n / native_doc, "pairs/s", "ffmpeg_scc_ccaption", n / ffmpeg);

    // A live channel: one call per frame carrying one pair.
    let frames: Vec<(u64, [u8; 3])> =
        pairs.iter().map(|p| (p.frame * 1_001_000_000 / 30_000, [0xfc, p.pair[0], p.pair[1]])).collect();
    let native_live = best_of(3, || {
        let mut d = CcDecoder::new(CaptionSource::default());
        for (pts, t) in &frames {
            black_box(d.decode_cc(black_box(t), *pts));
        }
    });
    let runtime = Runtime::new().unwrap();
    let manifest =
        Manifest::from_toml("name = \"captions\"\nversion = \"0.1.0\"\nworld = \"caption-converter\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::CAPTIONS).unwrap(), manifest, &[]).unwrap());
    let limits = NodeLimits { deadline: Duration::from_secs(1), memory_bytes: 64 << 20, max_output_bytes: 1 << 20 };
    let wasm_live = best_of(3, || {
        let mut c = CaptionConverter::new(plugin.clone(), "bench", "", limits).unwrap();
        for (pts, t) in &frames {
            black_box(c.decode_cc(black_box(t), *pts, 0).unwrap());
        }
    });
    report("captions_608_decode_per_frame_wasm", n / wasm_live, "pairs/s", "native", n / native_live);
}
