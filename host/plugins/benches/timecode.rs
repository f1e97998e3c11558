//! Timecode burn-in benchmark: `cargo xtask bench timecode`.
//!
//! A 1080p frame through the bundled timecode plugin, per frame, against
//! the native code drawing into the same frame in place. The plugin's
//! figure includes the two copies of the frame into and out of the sandbox
//! (`plugins_video_1080p_copy_in_out` measures those alone); drawing the
//! label touches only its box.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_guest_artifacts as guests;
use stagebox_media::timecode::{BurnConfig, Counting, Frame, Layout, burn_text};
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let (w, h) = (1920u32, 1080u32);
    for (pf, layout, stride, name) in [
        (PixelFormat::Uyvy, Layout::Uyvy, w * 2, "uyvy"),
        (PixelFormat::V210, Layout::V210, w.div_ceil(48) * 128, "v210"),
    ] {
        let frame = VideoFrame {
            info: GrainInfo { index: 0, timestamp: 1_795_521_637_000_000_000, invalid: false },
            format: VideoFormat {
                pixel_format: pf,
                width: w,
                height: h,
                stride,
                rate: Rational { numerator: 30000, denominator: 1001 },
            },
            data: vec![0x80; (stride * h) as usize],
        };
        let config = BurnConfig::default();
        let counting = Counting::new(30000, 1001, None).unwrap();
        let mut data = frame.data.clone();
        let native = best_of(200, || {
            let label = config.label(&counting, 0, black_box(frame.info.timestamp)).to_string();
            let mut f =
                Frame { data: &mut data, layout, width: w as usize, height: h as usize, stride: stride as usize };
            black_box(burn_text(&mut f, &label, config.placement()).unwrap());
        });
        let runtime = Runtime::new().unwrap();
        let manifest =
            Manifest::from_toml("name = \"timecode\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n").unwrap();
        let plugin =
            Arc::new(Plugin::load(&runtime, &std::fs::read(guests::TIMECODE).unwrap(), manifest, &[]).unwrap());
        let limits =
            NodeLimits { deadline: Duration::from_secs(1), memory_bytes: 64 << 20, max_output_bytes: 64 << 20 };
        let mut node = VideoNode::new(plugin, "bench", "", limits).unwrap();
        let wasm = best_of(50, || {
            black_box(node.process(black_box(&frame)).unwrap());
        });
        report(&format!("timecode_burn_1080p_{name}_wasm"), wasm * 1e3, "ms/frame", "native_in_place", native * 1e3);
    }
}
