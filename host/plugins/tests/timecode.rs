//! The bundled timecode burn-in, run as a sandboxed video node: it draws
//! exactly what the native code draws, with the label of the frame's time.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use stagebox_guest_artifacts as guests;
use stagebox_media::timecode::{BurnConfig, Counting, Frame, Layout, burn_text};
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::sync::Arc;
use std::time::Duration;

fn node(config: &str) -> VideoNode {
    let runtime = Runtime::new().unwrap();
    let manifest = Manifest::from_toml("name = \"timecode\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::TIMECODE).unwrap(), manifest, &[]).unwrap());
    let limits = NodeLimits { deadline: Duration::from_secs(2), memory_bytes: 64 << 20, max_output_bytes: 64 << 20 };
    VideoNode::new(plugin, "timecode", config, limits).unwrap()
}

/// 2026-11-24 12:00:00 UTC as TAI ns (TAI = UTC + 37 s).
const NOON_TAI: u64 = (1_795_521_600 + 37) * 1_000_000_000;

fn frame(pixel_format: PixelFormat, width: u32, height: u32, rate: (u32, u32), timestamp: u64) -> VideoFrame {
    let stride = match pixel_format {
        PixelFormat::Uyvy => width * 2,
        PixelFormat::V210 => width.div_ceil(48) * 128,
        PixelFormat::Rgba => width * 4,
    };
    let index = (u128::from(timestamp) * u128::from(rate.0) / (u128::from(rate.1) * 1_000_000_000)) as u64;
    VideoFrame {
        info: GrainInfo { index, timestamp, invalid: false },
        format: VideoFormat {
            pixel_format,
            width,
            height,
            stride,
            rate: Rational { numerator: rate.0, denominator: rate.1 },
        },
        data: (0..stride * height).map(|i| (i % 251) as u8).collect(),
    }
}

/// What the native code draws on `f` with `config`.
fn native(f: &VideoFrame, config: &str) -> (String, Vec<u8>) {
    let config = BurnConfig::from_json(config).unwrap();
    let rate = f.format.rate;
    let counting = Counting::new(rate.numerator, rate.denominator, config.drop_frame).unwrap();
    let label = config.label(&counting, f.info.index, f.info.timestamp).to_string();
    let mut data = f.data.clone();
    let layout = match f.format.pixel_format {
        PixelFormat::Uyvy => Layout::Uyvy,
        PixelFormat::V210 => Layout::V210,
        PixelFormat::Rgba => Layout::Rgba,
    };
    let mut target = Frame {
        data: &mut data,
        layout,
        width: f.format.width as usize,
        height: f.format.height as usize,
        stride: f.format.stride as usize,
    };
    burn_text(&mut target, &label, config.placement()).unwrap();
    (label, data)
}

#[test]
fn draws_the_time_of_day_label_as_the_native_code_does() {
    let mut n = node("");
    // Noon plus 2 frames and a bit at 29.97: drop-frame by default.
    let t = NOON_TAI + 70_000_000;
    for pf in [PixelFormat::Uyvy, PixelFormat::V210, PixelFormat::Rgba] {
        let f = frame(pf, 1920, 1080, (30000, 1001), t);
        let (label, want) = native(&f, "");
        let out = n.process(&f).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].info, f.info);
        assert!(out[0].data == want, "{pf:?}: the plugin drew something else than the native code");
        assert_ne!(out[0].data, f.data);
        // Frames since midnight at 29.97: 43,200.07 s × 30000/1001 =
        // 1,294,707.4; drop-frame labels 1,294,704 as 12:00:00;00 (72 ten-
        // minute blocks of 17,982), so this is ;03: drop-frame keeps up
        // with the clock.
        assert_eq!(label, "12:00:00;03", "{pf:?}");
    }
}

#[test]
fn configured_counting_and_placement() {
    let config = r#"{"drop_frame": false, "source": "index", "x": 10, "y": 20, "scale": 2}"#;
    let mut n = node(config);
    let f = frame(PixelFormat::Uyvy, 640, 360, (60000, 1001), NOON_TAI);
    let (label, want) = native(&f, config);
    assert!(label.contains(':') && !label.contains(';'), "{label}");
    assert!(n.process(&f).unwrap()[0].data == want);
    // The box starts at (10, 20): the line above it is untouched.
    assert_eq!(want[19 * 1280..20 * 1280], f.data[19 * 1280..20 * 1280]);
    assert_ne!(want[20 * 1280 + 20..20 * 1280 + 24], f.data[20 * 1280 + 20..20 * 1280 + 24]);
}

#[test]
fn bad_config_rates_and_frames_are_typed_errors() {
    let f = frame(PixelFormat::Uyvy, 640, 360, (25, 1), NOON_TAI);
    let err = node(r#"{"scale": "big"}"#).process(&f).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-config", .. }), "{err}");
    let err = node(r#"{"drop_frame": true}"#).process(&f).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "unsupported", message } if message.contains("drop-frame")),
        "{err}"
    );
    let mut n = node("");
    let odd = frame(PixelFormat::Uyvy, 640, 360, (15, 1), NOON_TAI);
    let err = n.process(&odd).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "unsupported", .. }), "{err}");
    let tiny = frame(PixelFormat::Rgba, 32, 8, (25, 1), NOON_TAI);
    let err = n.process(&tiny).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("does not fit")),
        "{err}"
    );
    let mut short = f.clone();
    short.data.truncate(1000);
    let err = n.process(&short).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-input", .. }), "{err}");
    assert_eq!(n.stats().instantiations, 1);
    assert!(n.process(&f).is_ok());
}
