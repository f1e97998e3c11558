//! The bundled loudness plugin, run as a sandboxed audio node, against the
//! EBU Tech 3341 and 3342 test signals, and against the native meter it is
//! built from.

#![allow(clippy::unwrap_used)] // a test fails by panicking

#[path = "../../media/tests/support/ebu.rs"]
#[allow(dead_code)] // shared with the native tests
mod ebu;

use ebu::Readout;
use stagebox_guest_artifacts as guests;
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::sync::Arc;
use std::time::Duration;

fn node(config: &str) -> AudioNode {
    let runtime = Runtime::new().unwrap();
    let manifest = Manifest::from_toml("name = \"loudness\"\nversion = \"0.1.0\"\nworld = \"audio-node\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::LOUDNESS).unwrap(), manifest, &[]).unwrap());
    // Correctness, not speed, is tested here (`cargo xtask bench plugins`
    // measures speed): a generous deadline keeps a busy test machine from
    // turning a slow call into a timeout.
    let limits =
        NodeLimits { deadline: Duration::from_secs(2), ..NodeLimits::for_period(&plugin, Duration::from_millis(10)) };
    AudioNode::new(plugin, "loudness", config, limits).unwrap()
}

/// A gauge's value; `None` for silence (-inf) or before the first report.
fn gauge(m: &GuestMetrics, name: &str) -> Option<f64> {
    m.gauges.get(name).copied().filter(|v| v.is_finite())
}

fn block(index: u64, rate: u32, channels: u32, samples: Vec<f32>) -> AudioBlock {
    AudioBlock {
        info: GrainInfo { index, timestamp: index * 10_000_000, invalid: false },
        format: AudioFormat { sample_rate: rate, channels },
        samples,
    }
}

#[test]
fn the_plugin_passes_every_generated_ebu_case() {
    let mut failures = Vec::new();
    for case in ebu::cases() {
        let mut node = node("");
        let mut index = 0;
        let result = case.run(|samples| {
            let b = block(index, case.rate, case.channels as u32, samples.to_vec());
            index += 1;
            let out = node.process(&b).unwrap();
            // A meter passes its audio through untouched.
            assert_eq!(out, vec![b]);
            let m = node.metrics();
            Readout {
                momentary: gauge(&m, "momentary_lufs"),
                short_term: gauge(&m, "short_term_lufs"),
                integrated: gauge(&m, "integrated_lufs"),
                range: gauge(&m, "loudness_range_lu").unwrap_or(0.0),
                true_peak: gauge(&m, "true_peak_dbtp"),
            }
        });
        if let Err(e) = result {
            failures.push(e);
        }
        assert_eq!(node.stats().instantiations, 1, "{}: the instance lived through the case", case.name);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_plugin_reads_exactly_what_the_native_meter_reads() {
    let case = ebu::cases().into_iter().find(|c| c.name == "3342-4").unwrap();
    let mut node = node("{}");
    let mut native = stagebox_media::loudness::Meter::new(case.rate, 2).unwrap();
    let mut index = 0;
    let last = case
        .run(|samples| {
            native.add_planar(samples).unwrap();
            node.process(&block(index, case.rate, 2, samples.to_vec())).unwrap();
            index += 1;
            Readout { range: native.reading().range, ..Readout::default() }
        })
        .unwrap();
    let m = node.metrics();
    let r = native.reading();
    assert_eq!(gauge(&m, "integrated_lufs"), r.integrated);
    assert_eq!(gauge(&m, "loudness_range_lu"), Some(last.range));
    assert_eq!(gauge(&m, "true_peak_dbtp"), r.true_peak);
    assert_eq!(gauge(&m, "measured_seconds"), Some(r.seconds));
}

#[test]
fn invalid_grains_are_not_measured_and_can_start_a_new_programme() {
    let loud = |index| block(index, 48_000, 1, (0..480).map(|i| (i as f32 * 0.13).sin() * 0.5).collect());
    let mut keep = node("");
    let mut reset = node(r#"{"reset_on_invalid": true}"#);
    for n in [&mut keep, &mut reset] {
        for i in 0..100 {
            n.process(&loud(i)).unwrap();
        }
        let mut gap = loud(100);
        gap.info.invalid = true;
        gap.samples.iter_mut().for_each(|s| *s = 1.0); // damaged: must not count
        assert_eq!(n.process(&gap).unwrap(), vec![gap.clone()]);
        assert_eq!(n.metrics().counters.get("invalid_blocks"), Some(&1));
        // Gauges are set every 100 ms of audio: ten more blocks.
        for i in 101..111 {
            n.process(&loud(i)).unwrap();
        }
    }
    assert_eq!(gauge(&keep.metrics(), "measured_seconds"), Some(1.1));
    assert!(gauge(&keep.metrics(), "true_peak_dbtp").unwrap() < -5.0, "the damaged block was not measured");
    assert_eq!(gauge(&reset.metrics(), "measured_seconds"), Some(0.1));
}

#[test]
fn bad_input_and_config_are_typed_errors() {
    let mut bad = node(r#"{"reset_on_invalid": "yes"}"#);
    let err = bad.process(&block(0, 48_000, 2, vec![0.0; 960])).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-config", .. }), "{err}");
    let mut n = node("");
    let err = n.process(&block(0, 48_000, 2, vec![0.0; 961])).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("961")), "{err}");
    let err = n.process(&block(0, 48_000, 0, vec![])).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-input", .. }), "{err}");
    // The instance survives bad input and keeps working.
    n.process(&block(1, 48_000, 2, vec![0.25; 960])).unwrap();
    assert_eq!(n.stats().instantiations, 1);
}
