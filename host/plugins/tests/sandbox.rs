//! Loading plugins and containing hostile ones. The guests are real
//! components built for wasm32-wasip2 from `guests/` (see
//! `guests/artifacts/build.rs`).

#![allow(clippy::unwrap_used)] // a test fails by panicking

use stagebox_guest_artifacts as guests;
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new().unwrap())
}

fn manifest(name: &str, extra: &str) -> Manifest {
    Manifest::from_toml(&format!("name = \"{name}\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n{extra}")).unwrap()
}

fn load(path: &str, manifest: Manifest, grants: &[Capability]) -> Result<Plugin, PluginError> {
    Plugin::load(runtime(), &std::fs::read(path).unwrap(), manifest, grants)
}

fn frame(first: u8, len: usize) -> VideoFrame {
    let mut data = vec![0x55u8; len];
    if let Some(b) = data.first_mut() {
        *b = first;
    }
    VideoFrame {
        info: GrainInfo { index: 7, timestamp: 140_000_000, invalid: false },
        format: VideoFormat {
            pixel_format: PixelFormat::Uyvy,
            width: (len / 2) as u32,
            height: 1,
            stride: len as u32,
            rate: Rational { numerator: 50, denominator: 1 },
        },
        data,
    }
}

fn limits(deadline_ms: u64, memory_mib: usize, max_output: usize) -> NodeLimits {
    NodeLimits {
        deadline: Duration::from_millis(deadline_ms),
        memory_bytes: memory_mib << 20,
        max_output_bytes: max_output,
    }
}

#[test]
fn template_plugin_loads_and_runs() {
    let plugin = Arc::new(load(guests::INVERT, manifest("invert", ""), &[]).unwrap());
    assert_eq!(plugin.interface_version(), (0, 1, 0));
    let mut node =
        VideoNode::new(plugin.clone(), "negative", "", NodeLimits::for_period(&plugin, Duration::from_millis(20)))
            .unwrap();
    assert_eq!(node.limits().deadline, Duration::from_millis(10), "half a 50 fps frame");
    // UYVY: every byte inverted.
    let input = frame(0x10, 1024);
    let out = node.process(&input).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].info, input.info);
    assert!(out[0].data.iter().zip(&input.data).all(|(o, i)| *o == !*i));
    // v210: each 10-bit sample v becomes 1023 - v.
    let mut v210 = input.clone();
    v210.format.pixel_format = PixelFormat::V210;
    v210.data = [512u32 | 64 << 10 | 940 << 20].iter().flat_map(|w| w.to_le_bytes()).collect();
    let out = node.process(&v210).unwrap();
    let w = u32::from_le_bytes(out[0].data[..4].try_into().unwrap());
    assert_eq!((w & 0x3ff, (w >> 10) & 0x3ff, (w >> 20) & 0x3ff), (511, 959, 83));
    assert_eq!(node.stats().completed, 2);
    assert_eq!(node.stats().instantiations, 1);
}

/// Each hostile behaviour fails only its own call, with its own typed
/// error, is counted, and the same node serves the next frame correctly.
#[test]
fn hostile_plugin_is_contained_and_the_node_keeps_running() {
    let plugin = Arc::new(load(guests::HOSTILE, manifest("hostile", ""), &[]).unwrap());
    // Deadlines are wall-clock: on a busy 2-core machine an innocent call can
    // be descheduled for tens of ms, so only the loop case runs at a tight
    // budget and the other cases get one they cannot reach by accident.
    let budget = Duration::from_millis(200);
    let relaxed = limits(5_000, 32, 1 << 20);
    let mut node = VideoNode::new(plugin, "hostile", "", relaxed).unwrap();
    let ok = |node: &mut VideoNode| {
        let out = node.process(&frame(0, 4096)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, frame(0, 4096).data);
    };
    ok(&mut node);

    // 1: an infinite loop stops at the deadline, within twice the budget.
    node.set_limits(NodeLimits { deadline: budget, ..relaxed });
    let started = Instant::now();
    let err = node.process(&frame(1, 64)).unwrap_err();
    let took = started.elapsed();
    node.set_limits(relaxed);
    assert!(matches!(err, NodeError::Timeout { budget: b } if b == budget), "{err}");
    assert!(took >= budget && took < 2 * budget, "timed out after {took:?} for a {budget:?} budget");
    ok(&mut node);

    // 2: a memory bomb hits the cap.
    let err = node.process(&frame(2, 64)).unwrap_err();
    assert!(matches!(err, NodeError::MemoryLimit { cap } if cap == 32 << 20), "{err}");
    ok(&mut node);

    // 3: a trap, with the plugin's panic message.
    let err = node.process(&frame(3, 64)).unwrap_err();
    match &err {
        NodeError::Trap { message } => assert!(message.contains("hostile plugin traps"), "{message}"),
        other => panic!("expected a trap, got {other}"),
    }
    ok(&mut node);

    // 4: 64 copies of a 64 KiB frame (4 MiB) against a 1 MiB output limit.
    let err = node.process(&frame(4, 64 << 10)).unwrap_err();
    assert!(
        matches!(err, NodeError::OutputTooLarge { bytes, limit } if bytes == 64 * (64 << 10) && limit == 1 << 20),
        "{err}"
    );
    ok(&mut node);

    // 5: an expected error keeps the instance.
    let err = node.process(&frame(5, 64)).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-input", message } if message == "refused frame 7"),
        "{err}"
    );
    ok(&mut node);

    let stats = node.stats();
    assert_eq!(
        (stats.timeouts, stats.memory_limits, stats.traps, stats.oversized_outputs, stats.guest_errors),
        (1, 1, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.completed, 6);
    assert_eq!(stats.calls, 11);
    assert_eq!(stats.instantiations, 5, "the first, then one after each of the four failures that break an instance");
    // The plugin's own metric survived its restarts.
    assert_eq!(node.metrics().counters.get("frames"), Some(&6));
}

#[test]
fn ungranted_import_fails_at_load_with_a_link_error() {
    // std::net on wasip2 imports wasi:sockets and wasi:filesystem.
    let denied = |err: &PluginError, why: &str| {
        matches!(err, PluginError::Link { import, reason }
            if (import.starts_with("wasi:sockets/") || import.starts_with("wasi:filesystem/")) && reason.contains(why))
    };
    // Not requested in the manifest: refused even if an admin would grant it.
    let err = load(guests::NET_PROBE, manifest("net-probe", ""), &[Capability::Network, Capability::Filesystem])
        .err()
        .unwrap();
    assert!(denied(&err, "not requested"), "{err}");
    // Requested but not granted by the admin.
    let asks = manifest("net-probe", "capabilities = [\"network\", \"filesystem\"]\n");
    let err = load(guests::NET_PROBE, asks.clone(), &[]).err().unwrap();
    assert!(denied(&err, "not granted"), "{err}");
    let err = load(guests::NET_PROBE, asks.clone(), &[Capability::Filesystem]).err().unwrap();
    assert!(matches!(&err, PluginError::Link { import, .. } if import.starts_with("wasi:sockets/")), "{err}");
    // Requested and granted: it loads and runs.
    let plugin = Arc::new(load(guests::NET_PROBE, asks, &[Capability::Network, Capability::Filesystem]).unwrap());
    assert_eq!(plugin.granted(), [Capability::Network, Capability::Filesystem]);
    let mut node = VideoNode::new(plugin, "net", "", limits(2000, 32, 1 << 20)).unwrap();
    assert_eq!(node.process(&frame(0, 16)).unwrap().len(), 1);
}

#[test]
fn world_and_bytes_are_checked_before_instantiating() {
    let audio = Manifest::from_toml("name = \"invert\"\nversion = \"0.1.0\"\nworld = \"audio-node\"\n").unwrap();
    let err = load(guests::INVERT, audio, &[]).err().unwrap();
    assert!(
        matches!(&err, PluginError::WorldMismatch { manifest, component } if manifest == "audio-node" && component == "video-node"),
        "{err}"
    );
    let err = Plugin::load(runtime(), b"\0asm not really", manifest("junk", ""), &[]).err().unwrap();
    assert!(matches!(err, PluginError::Compile(_)), "{err}");
    // A core module, not a component.
    let err = Plugin::load(runtime(), b"\0asm\x01\0\0\0", manifest("core", ""), &[]).err().unwrap();
    assert!(matches!(err, PluginError::Compile(_) | PluginError::NoWorld { .. }), "{err}");
}

#[test]
fn audio_node_applies_its_configured_gain() {
    let audio = Manifest::from_toml("name = \"gain\"\nversion = \"0.1.0\"\nworld = \"audio-node\"\n").unwrap();
    let plugin = Arc::new(load(guests::GAIN, audio, &[]).unwrap());
    // 10 ms blocks of 48 kHz: the deadline is half of that.
    let limits = NodeLimits::for_period(&plugin, Duration::from_millis(10));
    let block = AudioBlock {
        info: GrainInfo { index: 480, timestamp: 10_000_000, invalid: false },
        format: AudioFormat { sample_rate: 48_000, channels: 2 },
        samples: (0..960).map(|i| (i as f32 / 960.0) - 0.5).collect(),
    };
    let mut node = AudioNode::new(plugin.clone(), "minus-6", "-6.0206", limits).unwrap();
    let out = node.process(&block).unwrap();
    assert_eq!(out.len(), 1);
    for (o, i) in out[0].samples.iter().zip(&block.samples) {
        assert!((o - i * 0.5).abs() < 1e-5, "{o} vs {}", i * 0.5);
    }
    // A bad configuration is the plugin's typed error, every time it is tried.
    let mut bad = AudioNode::new(plugin.clone(), "bad", "loud", limits).unwrap();
    for _ in 0..2 {
        let err = bad.process(&block).unwrap_err();
        assert!(
            matches!(&err, NodeError::Guest { code: "invalid-config", message } if message.contains("loud")),
            "{err}"
        );
    }
    assert_eq!(bad.stats().guest_errors, 2);
    // A video plugin cannot be made into an audio node.
    let video = Arc::new(load(guests::INVERT, manifest("invert", ""), &[]).unwrap());
    assert!(AudioNode::new(video, "x", "", limits).is_err());
}

#[test]
fn every_guest_is_used_by_a_test() {
    // Guards the build script's list: a guest added there must be used here.
    let used = [
        guests::INVERT,
        guests::HOSTILE,
        guests::NET_PROBE,
        guests::GAIN,
        guests::SCTE35,
        guests::LOUDNESS,
        guests::CAPTIONS,
        guests::TIMECODE,
    ];
    for (krate, path) in guests::ALL {
        assert!(used.contains(path), "guest {krate} is built but no test uses it");
    }
}
