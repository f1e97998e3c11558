//! Plugin benchmarks: `cargo xtask bench plugins`.
//!
//! - the per-call overhead of an empty `process` call;
//! - a 1080p v210 frame through the `invert` WASM node against the same Rust
//!   function called natively, and, separately, the cost of copying the
//!   frame into and out of the guest (an echo node) against two memcpys.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_guest_artifacts as guests;
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn node(runtime: &Runtime, path: &str, name: &str) -> VideoNode {
    let manifest =
        Manifest::from_toml(&format!("name = \"{name}\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n")).unwrap();
    let plugin = Arc::new(Plugin::load(runtime, &std::fs::read(path).unwrap(), manifest, &[]).unwrap());
    let limits = NodeLimits { deadline: Duration::from_secs(1), memory_bytes: 256 << 20, max_output_bytes: 64 << 20 };
    VideoNode::new(plugin, name, "", limits).unwrap()
}

fn frame(width: u32, height: u32) -> VideoFrame {
    let stride = width.div_ceil(48) * 128;
    VideoFrame {
        info: GrainInfo { index: 1, timestamp: 20_000_000, invalid: false },
        format: VideoFormat {
            pixel_format: PixelFormat::V210,
            width,
            height,
            stride,
            rate: Rational { numerator: 50, denominator: 1 },
        },
        data: (0..stride * height).map(|i| (i % 251) as u8).collect(),
    }
}

/// The same work the `invert` guest does, natively.
fn invert_native(frame: &VideoFrame) -> Vec<VideoFrame> {
    let mut out = frame.clone();
    out.data.chunks_exact_mut(4).for_each(|w| {
        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ 0x3FFF_FFFF;
        w.copy_from_slice(&v.to_le_bytes());
    });
    vec![out]
}

fn main() {
    let runtime = Runtime::new().unwrap();
    let mut invert = node(&runtime, guests::INVERT, "invert");
    let mut echo = node(&runtime, guests::HOSTILE, "echo");

    // Empty call: a frame with no payload, through the whole path (deadline,
    // lowering the record, the guest's dispatch, lifting the result).
    let empty = VideoFrame { data: Vec::new(), ..frame(0, 0) };
    invert.process(&empty).unwrap();
    let wasm_empty = best_of(100_000, || {
        black_box(invert.process(black_box(&empty)).unwrap());
    });
    let native_empty = best_of(100_000, || {
        black_box(invert_native(black_box(&empty)));
    });
    report("plugins_empty_call", wasm_empty * 1e6, "us", "native_call", native_empty * 1e6);

    // 1080p v210 through the node, copies included.
    let hd = frame(1920, 1080);
    assert_eq!(invert.process(&hd).unwrap()[0].data, invert_native(&hd)[0].data, "guest and native agree");
    let wasm = best_of(30, || {
        black_box(invert.process(black_box(&hd)).unwrap());
    });
    let native = best_of(30, || {
        black_box(invert_native(black_box(&hd)));
    });
    report("plugins_video_1080p_invert", wasm * 1e3, "ms", "native", native * 1e3);

    // The copies alone: an echo node copies the frame in and out and does
    // nothing else; the reference is two plain copies of the same bytes.
    let echoed = best_of(30, || {
        black_box(echo.process(black_box(&hd)).unwrap());
    });
    // Into and out of preallocated buffers, as the node's copies are once
    // the guest's heap has grown to fit a frame.
    let (mut into, mut out) = (vec![0u8; hd.data.len()], vec![0u8; hd.data.len()]);
    let copies = best_of(30, || {
        into.copy_from_slice(black_box(&hd.data));
        out.copy_from_slice(black_box(&into));
        black_box(&out);
    });
    report("plugins_video_1080p_copy_in_out", echoed * 1e3, "ms", "two_memcpy", copies * 1e3);
    report("plugins_video_1080p_compute_only", (wasm - echoed).max(0.0) * 1e3, "ms", "native", native * 1e3);
}
