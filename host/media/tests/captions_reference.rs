//! Captions checked against independent decoders:
//!
//! - ffmpeg's own CEA-608 decoder (`ccaption_dec`), through its SCC
//!   demuxer: SCC written by us, decoded by ffmpeg to SRT, must give the
//!   cues we meant, text for text, and times within one frame;
//! - pycaption (PyPI) reading the SCC, WebVTT and SRT we write.
//!
//! The cues are generated (every character class 608 has: standard,
//! special, extended; one to three lines; gaps and back-to-back cues), so
//! the comparison covers more than a hand-written file would. ffmpeg comes
//! from `cargo xtask setup` (apt) and pycaption from its virtual
//! environment; the test fails, rather than skips, without them.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::captions::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::python;

/// One frame at 29.97 fps, in ns: how far our own decoding of our SCC may
/// be from the cue times asked for (the encoder rounds to frames).
const FRAME: u64 = 33_367_000;

/// How a reference reads the time of an SCC line: from its drop-frame
/// label, taken as nominal seconds plus frames at `ms_per_frame` (ffmpeg
/// counts 33 ms a frame, pycaption 1/30 s). Our times go through the same
/// frame and label, so the comparison is exact to the frame, not a window.
fn label_time(ns: u64, ms_per_frame: f64) -> u64 {
    let label = frame_timecode(FrameRate::NTSC.frame_at(ns));
    let field = |i: usize| label[i..i + 2].parse::<u64>().unwrap();
    let seconds = field(0) * 3600 + field(3) * 60 + field(6);
    seconds * 1_000_000_000 + (field(9) as f64 * ms_per_frame * 1e6).round() as u64
}

/// pycaption and ffmpeg print whole milliseconds or microseconds.
const ROUNDING: u64 = 1_000_000;

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ffmpeg_scc_to_srt(scc: &Path, srt: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(scc)
        .arg(srt)
        .output()
        .expect("ffmpeg must be installed (cargo xtask setup)");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

fn pycaption(path: &Path, kind: &str) -> Vec<(u64, u64, String)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/captions_reference.py");
    let out = Command::new(python()).arg(script).arg(path).arg(kind).output().unwrap();
    assert!(out.status.success(), "pycaption: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["start"].as_u64().unwrap(), v["end"].as_u64().unwrap(), v["text"].as_str().unwrap().to_string())
        })
        .collect()
}

fn assert_close(what: &str, i: usize, ours: u64, theirs: u64, tolerance: u64) {
    assert!(ours.abs_diff(theirs) <= tolerance, "cue {i} {what}: {ours} ns against {theirs} ns");
}

#[test]
fn ffmpeg_decodes_our_scc_to_the_same_cues() {
    let cues = support::generated_cues(80);
    let dir = scratch();
    let scc = write(&cues, TextFormat::Scc).unwrap();
    let scc_path = write_file(dir.path(), "gen.scc", &scc);

    // Our decoder on our encoder: the text exactly, times to the frame.
    let ours = read(&scc, TextFormat::Scc).unwrap();
    assert_eq!(ours.len(), cues.len());
    for (i, (a, b)) in cues.iter().zip(&ours).enumerate() {
        // A typed apostrophe is sent as 0x27, which decoders show as '’'.
        assert_eq!(a.text.replace('\'', "’"), b.text, "cue {i}");
        assert_close("start", i, a.start, b.start, FRAME);
        assert_close("end", i, a.end, b.end, FRAME);
    }

    // ffmpeg's decoder on the same SCC.
    let srt_path = dir.path().join("ffmpeg.srt");
    ffmpeg_scc_to_srt(&scc_path, &srt_path);
    let theirs = read(&std::fs::read_to_string(&srt_path).unwrap(), TextFormat::Srt).unwrap();
    assert_eq!(theirs.len(), ours.len(), "ffmpeg found {} cues, we found {}", theirs.len(), ours.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        // ffmpeg 5.1 shows the 608 em dash (0x12 0x2A) as '-'.
        assert_eq!(a.text.replace('—', "-"), b.plain_text(), "cue {i}");
        assert_close("start", i, label_time(a.start, 33.0), b.start, ROUNDING);
        assert_close("end", i, label_time(a.end, 33.0), b.end, ROUNDING);
    }
}

#[test]
fn pycaption_reads_what_we_write() {
    let cues = support::generated_cues(60);
    let dir = scratch();
    for (format, kind) in [(TextFormat::Scc, "scc"), (TextFormat::WebVtt, "vtt"), (TextFormat::Srt, "srt")] {
        let path = write_file(dir.path(), &format!("gen.{kind}"), &write(&cues, format).unwrap());
        let theirs = pycaption(&path, kind);
        assert_eq!(theirs.len(), cues.len(), "{kind}");
        for (i, (a, (start, end, text))) in cues.iter().zip(&theirs).enumerate() {
            // SCC carries apostrophes as 0x27, which pycaption shows as '
            // and ffmpeg and cea608-types as ’.
            if format == TextFormat::Scc {
                assert_eq!(a.text.replace('’', "'"), text.replace('’', "'"), "{kind} cue {i}");
            } else {
                assert_eq!(&a.text, text, "{kind} cue {i}");
            }
            if format == TextFormat::Scc {
                // Our SCC times are frames: compare the frame pycaption read.
                assert_close("scc start", i, label_time(a.start, 1000.0 / 30.0), *start, ROUNDING);
                assert_close("scc end", i, label_time(a.end, 1000.0 / 30.0), *end, ROUNDING);
            } else {
                assert_close(&format!("{kind} start"), i, a.start, *start, ROUNDING);
                assert_close(&format!("{kind} end"), i, a.end, *end, ROUNDING);
            }
        }
    }
}

#[test]
fn we_read_what_pycaption_reads_in_text_formats() {
    // Hand-written documents with the features readers trip on: a BOM,
    // CRLF, cue identifiers, NOTE blocks, settings, entities, tags.
    let dir = scratch();
    let vtt = "\u{feff}WEBVTT\r\n\r\nNOTE made by hand\r\n\r\nintro\r\n00:00:01.000 --> 00:00:02.500 line:13 position:10% align:start\r\nFish &amp; chips\r\n\r\n00:01:02.003 --> 00:01:04.000\r\n<i>Whispered</i>\r\nsecond line\r\n";
    let srt = "1\n00:00:01,000 --> 00:00:02,500\nFish & chips\n\n2\n00:01:02,003 --> 00:01:04,000\n<i>Whispered</i>\nsecond line\n";
    for (text, format, kind) in [(vtt, TextFormat::WebVtt, "vtt"), (srt, TextFormat::Srt, "srt")] {
        let path = write_file(dir.path(), &format!("hand.{kind}"), text);
        let ours = read(text, format).unwrap();
        let theirs = pycaption(&path, kind);
        assert_eq!(ours.len(), theirs.len(), "{kind}");
        for (a, (start, end, t)) in ours.iter().zip(&theirs) {
            assert_eq!((a.start, a.end), (*start, *end), "{kind}");
            // pycaption keeps SRT's tags and drops WebVTT's: compare text.
            let theirs = Cue { styled: true, ..Cue::new(0, 0, t.as_str()) }.plain_text();
            assert_eq!(a.plain_text(), theirs, "{kind}");
        }
    }
}

#[test]
fn bad_documents_are_errors_that_name_the_line() {
    for (text, format, line) in [
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:03.000 -> 00:04.000\nbad\n", TextFormat::WebVtt, 6),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:99,000\nbad\n", TextFormat::Srt, 6),
        ("Scenarist_SCC V1.0\n\n00:00:01:00\t9420 9420\n\n00:00:02:00\t942c zz\n", TextFormat::Scc, 5),
    ] {
        match read(text, format) {
            Err(CaptionError::Syntax { line: l, .. }) => assert_eq!(l, line, "{format:?}"),
            other => panic!("{format:?}: expected a syntax error, got {other:?}"),
        }
    }
}
