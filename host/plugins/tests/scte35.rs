//! The bundled SCTE-35 policy plugin (`guests/scte35`) run in the sandbox:
//! decisions, annotations in every HLS dialect and both DASH schemes, splice
//! points, and bad input.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use stagebox_guest_artifacts as guests;
use stagebox_media::scte35::{SpliceDescriptor, SpliceInfoSection, policy};
use stagebox_plugins::types::*;
use stagebox_plugins::*;
use std::sync::Arc;
use std::time::Duration;

/// ANSI/SCTE 35 2023 §14.2: splice_insert, out of network, 60.293 s break,
/// with an avail descriptor.
const INSERT: &str = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=";
/// §14.1: time_signal, provider placement opportunity start (0x34).
const PPO_START: &str = "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==";
/// §14.3: time_signal, provider placement opportunity end (0x35).
const PPO_END: &str = "/DAvAAAAAAAA///wBQb+dGKQoAAZAhdDVUVJSAAAjn+fCAgAAAAALKChijUCAKnMZ1g=";

fn policy(config: &str) -> Scte35Policy {
    let runtime = Runtime::new().unwrap();
    let manifest = Manifest::from_toml("name = \"scte35\"\nversion = \"0.1.0\"\nworld = \"scte35-policy\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::SCTE35).unwrap(), manifest, &[]).unwrap());
    // Sections come a few per second at most: a 20 ms budget is generous.
    let limits = NodeLimits::for_period(&plugin, Duration::from_millis(40));
    Scte35Policy::new(plugin, "channel-1", config, limits).unwrap()
}

fn bytes(b64: &str) -> Vec<u8> {
    SpliceInfoSection::from_text(b64).unwrap().to_bytes().unwrap()
}

fn context(pts: u64) -> StreamContext {
    // 2026-11-23T09:20:00Z as TAI (37 s ahead).
    StreamContext { pid: 500, pts, wall_clock: (1_795_425_600 + 37) * 1_000_000_000, channel: "one".into() }
}

#[test]
fn splice_insert_is_annotated_in_every_dialect_and_scheme() {
    let mut p = policy("");
    let section = bytes(INSERT);
    // The section arrives 2 s (180,000 ticks) before its splice time.
    let splice_pts = 0x0_7369_C02E;
    let out = p.on_section(&section, &context(splice_pts - 180_000)).unwrap();
    assert_eq!(out.decision, Decision::Pass);
    assert_eq!(
        out.splice_points,
        [SplicePoint { pts: splice_pts, kind: SpliceKind::Out, duration: Some(0x0052_CCF5), event_id: 0x4800_008F }]
    );
    let hex: String = section.iter().map(|b| format!("{b:02x}")).collect();
    let lines: Vec<&str> = out.hls_tags.iter().map(|t| t.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            format!(
                "#EXT-X-DATERANGE:ID=\"1207959695\",START-DATE=\"2026-11-23T09:20:02.000Z\",PLANNED-DURATION=60.293,SCTE35-OUT=0x{hex}"
            )
            .as_str(),
            "#EXT-X-CUE-OUT:DURATION=60.293",
            &format!("#EXT-OATCLS-SCTE35:{INSERT}"),
        ]
    );
    assert_eq!(out.dash_events.len(), 2);
    let (xml, bin) = (&out.dash_events[0], &out.dash_events[1]);
    assert_eq!(xml.scheme_id_uri, "urn:scte:scte35:2013:xml");
    assert!(xml.body.contains("<scte35:SpliceInsert spliceEventId=\"1207959695\""), "{}", xml.body);
    assert!(xml.body.contains(&format!("<scte35:SpliceTime ptsTime=\"{splice_pts}\"/>")), "{}", xml.body);
    assert_eq!(bin.scheme_id_uri, "urn:scte:scte35:2014:xml+bin");
    assert_eq!(bin.body, format!("<scte35:Signal><scte35:Binary>{INSERT}</scte35:Binary></scte35:Signal>"));
    assert_eq!((bin.presentation_time, bin.duration, bin.timescale), (splice_pts, Some(0x0052_CCF5), 90_000));
    // The plugin says exactly what the same code says natively.
    let native = policy::Policy::from_json("")
        .unwrap()
        .on_section(
            &section,
            &policy::StreamContext { pts: splice_pts - 180_000, wall_clock_tai_ns: context(0).wall_clock },
        )
        .unwrap();
    assert_eq!(native.hls_tags.iter().map(|t| t.line.as_str()).collect::<Vec<_>>(), lines);
}

#[test]
fn time_signals_give_out_and_in_points() {
    let mut p = policy(r#"{"hls": ["cue_out_in"], "dash": []}"#);
    let out = p.on_section(&bytes(PPO_START), &context(0x0_72BD_0000)).unwrap();
    assert_eq!(out.splice_points.len(), 1);
    assert_eq!(out.splice_points[0].kind, SpliceKind::Out);
    assert_eq!(out.hls_tags[0].line, "#EXT-X-CUE-OUT:DURATION=307.000");
    assert!(out.dash_events.is_empty());
    let out = p.on_section(&bytes(PPO_END), &context(0x0_7462_9000)).unwrap();
    assert_eq!(out.splice_points[0].kind, SpliceKind::In);
    assert_eq!(out.hls_tags[0].line, "#EXT-X-CUE-IN");
}

#[test]
fn rules_drop_and_rewrite() {
    let config = r#"{
        "rules": [
            { "match": { "segmentation_type_ids": [52] }, "action": "drop" },
            { "match": { "command_types": [5] }, "action": { "rewrite": { "remove_descriptor_tags": [0], "pts_adjustment": 900 } } }
        ]
    }"#;
    let mut p = policy(config);
    let dropped = p.on_section(&bytes(PPO_START), &context(0)).unwrap();
    assert_eq!(dropped.decision, Decision::Drop);
    assert!(dropped.hls_tags.is_empty() && dropped.dash_events.is_empty() && dropped.splice_points.is_empty());
    // Not matched by either rule: passed.
    assert_eq!(p.on_section(&bytes(PPO_END), &context(0)).unwrap().decision, Decision::Pass);
    let rewritten = p.on_section(&bytes(INSERT), &context(0)).unwrap();
    let Decision::Rewrite(new) = &rewritten.decision else { panic!("{:?}", rewritten.decision) };
    // A complete, valid section: CRC checked by the parser.
    let cue = SpliceInfoSection::parse(new).unwrap();
    assert_eq!(cue.pts_adjustment, 900);
    assert!(!cue.descriptors().iter().any(|d| matches!(d, SpliceDescriptor::Avail { .. })));
    // The splice point carries the new adjustment.
    assert_eq!(rewritten.splice_points[0].pts, 0x0_7369_C02E + 900);
}

#[test]
fn bad_sections_and_configs_are_typed_errors_and_the_policy_goes_on() {
    let mut p = policy("");
    let mut bad = bytes(INSERT);
    bad[20] ^= 1;
    let err = p.on_section(&bad, &context(0)).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("CRC")), "{err}");
    assert!(p.on_section(&bad[..5], &context(0)).is_err());
    // The same instance serves the next good section.
    assert_eq!(p.on_section(&bytes(INSERT), &context(0)).unwrap().decision, Decision::Pass);
    let stats = p.stats();
    assert_eq!((stats.guest_errors, stats.completed, stats.instantiations), (2, 1, 1));

    let mut p = policy(r#"{"rules": [{"action": "explode"}]}"#);
    let err = p.on_section(&bytes(INSERT), &context(0)).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-config", message } if message.contains("explode")),
        "{err}"
    );
}
