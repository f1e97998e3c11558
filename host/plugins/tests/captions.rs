//! The bundled caption converter, run as a sandboxed plugin: it decodes
//! and converts exactly as the native `stagebox_media::captions` does.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use stagebox_guest_artifacts as guests;
use stagebox_media::captions::{self as media, CcDecoder, Channel608, FrameRate};
use stagebox_plugins::types::{Cea608Channel, Cue, TextFormat};
use stagebox_plugins::*;
use std::sync::Arc;
use std::time::Duration;

const SECOND: u64 = 1_000_000_000;

fn converter(config: &str) -> CaptionConverter {
    let runtime = Runtime::new().unwrap();
    let manifest =
        Manifest::from_toml("name = \"captions\"\nversion = \"0.1.0\"\nworld = \"caption-converter\"\n").unwrap();
    let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read(guests::CAPTIONS).unwrap(), manifest, &[]).unwrap());
    let limits = NodeLimits { deadline: Duration::from_secs(2), memory_bytes: 64 << 20, max_output_bytes: 1 << 20 };
    CaptionConverter::new(plugin, "captions", config, limits).unwrap()
}

fn native(c: &Cue) -> media::Cue {
    media::Cue { start: c.start, end: c.end, text: c.text.clone(), line: c.line, column: c.column, styled: c.styled }
}

fn wit(c: &media::Cue) -> Cue {
    Cue { start: c.start, end: c.end, text: c.text.clone(), line: c.line, column: c.column, styled: c.styled }
}

fn sample_cues() -> Vec<media::Cue> {
    vec![
        media::Cue::new(SECOND, 3 * SECOND, "Stagebox captions"),
        media::Cue::new(4 * SECOND, 6 * SECOND, "Two lines,\nand é ü ß ™"),
    ]
}

/// 608 pairs of `cues` on `channel` at 29.97 fps, as (pts, cc_data) frames.
fn frames(cues: &[media::Cue], channel: Channel608) -> Vec<(u64, Vec<u8>)> {
    let rate = FrameRate::from_milli(29_970).unwrap();
    let cc_type = 0xfc | channel.field();
    let pairs = media::encode_cea608(cues, channel, 0, rate).unwrap();
    pairs.iter().enumerate().map(|(i, p)| (rate.frame_start(i as u64), vec![cc_type, p[0], p[1]])).collect()
}

#[test]
fn decodes_608_exactly_as_the_native_decoder() {
    for (source, channel) in [("cc1", Channel608::Cc1), ("cc3", Channel608::Cc3)] {
        let mut plugin = converter(&format!(r#"{{"source": "{source}"}}"#));
        let mut host = CcDecoder::new(source.parse().unwrap());
        let (mut from_plugin, mut from_host) = (Vec::new(), Vec::new());
        let stream = frames(&sample_cues(), channel);
        for (pts, data) in &stream {
            from_plugin.extend(plugin.decode_cc(data, *pts, 0).unwrap().iter().map(native));
            from_host.extend(host.decode_cc(data, *pts));
        }
        from_plugin.extend(plugin.flush(7 * SECOND).unwrap().iter().map(native));
        from_host.extend(host.flush(7 * SECOND));
        assert_eq!(from_plugin, from_host);
        let texts: Vec<_> = from_plugin.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Stagebox captions", "Two lines,\nand é ü ß ™"], "{source}");
        assert_eq!(plugin.metrics().counters.get("cues"), Some(&2));
    }
}

#[test]
fn decodes_a_708_service_when_configured() {
    // DefineWindow 0 (visible), "AB", BS, "C" on service 1.
    let packet = [0x07, 0x2b, 0x98, 0x38, 0x00, 0x00, 0x00, 0x1f, 0x11, 0x41, 0x42, 0x08, 0x43, 0x00];
    let mut cc_data = Vec::new();
    for (i, pair) in packet.chunks(2).enumerate() {
        cc_data.extend([if i == 0 { 0xff } else { 0xfe }, pair[0], pair[1]]);
    }
    let mut plugin = converter(r#"{"source": "service1"}"#);
    assert!(plugin.decode_cc(&cc_data, SECOND, 0).unwrap().is_empty());
    let cues = plugin.flush(2 * SECOND).unwrap();
    assert_eq!((cues[0].text.as_str(), cues[0].start, cues[0].end), ("AC", SECOND, 2 * SECOND));
    // A cut-short packet is counted, as natively.
    plugin.decode_cc(&[0xff, 0x04, 0x23, 0xff, 0x02, 0x21], 3 * SECOND, 0).unwrap();
    assert_eq!(plugin.decode_stats().unwrap().bad_service_blocks, 1);
    // The same bytes read as 608 give nothing.
    let mut cc1 = converter("");
    cc1.decode_cc(&cc_data, SECOND, 0).unwrap();
    assert!(cc1.flush(2 * SECOND).unwrap().is_empty());
}

#[test]
fn converts_text_and_encodes_608_as_natively() {
    let mut plugin = converter("");
    let cues: Vec<Cue> = sample_cues().iter().map(wit).collect();
    let vtt = plugin.cues_to_text(&cues, TextFormat::Webvtt).unwrap();
    assert_eq!(vtt, media::write(&sample_cues(), media::TextFormat::WebVtt).unwrap());
    let back = plugin.text_to_cues(&vtt, TextFormat::Webvtt).unwrap();
    let srt = plugin.cues_to_text(&back, TextFormat::Srt).unwrap();
    assert_eq!(srt, media::write(&sample_cues(), media::TextFormat::Srt).unwrap());
    let pairs = plugin.cues_to_cea608(&cues, Cea608Channel::Cc2, 0, 25_000).unwrap();
    let want =
        media::encode_cea608(&sample_cues(), Channel608::Cc2, 0, FrameRate::from_milli(25_000).unwrap()).unwrap();
    assert_eq!(pairs, want.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
}

#[test]
fn parity_errors_are_counted() {
    let mut plugin = converter("");
    // 0x94 0x20 has odd parity; 0x14 0x20 does not.
    plugin.decode_cc(&[0xfc, 0x14, 0x20, 0xfc, 0x94, 0x20], 0, 0).unwrap();
    assert_eq!(plugin.decode_stats().unwrap().parity_errors, 1);
}

#[test]
fn bad_input_and_config_are_typed_errors_and_the_instance_lives_on() {
    let mut bad = converter(r#"{"source": "cc9"}"#);
    let err = bad.flush(0).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-config", message } if message.contains("cc1 to cc4")),
        "{err}"
    );

    let mut plugin = converter("");
    let err = plugin.text_to_cues("1\n00:00:01,000 --> 00:00:0x,000\nHello\n", TextFormat::Srt).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("SRT line 2")),
        "{err}"
    );
    let err = plugin.cues_to_cea608(&[], Cea608Channel::Cc1, 0, 0).unwrap_err();
    assert!(
        matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("frame rate")),
        "{err}"
    );
    let too_wide = Cue { start: 0, end: SECOND, text: "x".repeat(40), line: None, column: None, styled: false };
    let err = plugin.cues_to_cea608(&[too_wide], Cea608Channel::Cc1, 0, 29_970).unwrap_err();
    assert!(matches!(&err, NodeError::Guest { code: "invalid-input", message } if message.contains("cue 0")), "{err}");
    assert_eq!(plugin.stats().guest_errors, 3);
    assert_eq!(plugin.stats().instantiations, 1, "expected failures do not cost the instance");
    assert!(plugin.text_to_cues("WEBVTT\n\n00:01.000 --> 00:02.000\nok\n", TextFormat::Webvtt).is_ok());
}
