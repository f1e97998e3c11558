//! Captions through H.264: cues encoded as CEA-608, carried as A/53 cc_data
//! in the SEI of every frame of an x264 stream, muxed into MPEG-TS by
//! ffmpeg, then decoded by ffmpeg's own decoder (`movie=...[out+subcc]`)
//! and by `extract_from_ts`. The text and timing must come back, to the
//! frame.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::captions::*;
use std::path::Path;
use support::{RATE_MILLI, captioned_ts, ffmpeg};

/// ffmpeg's decoding of the TS's captions, as cues.
fn ffmpeg_subcc(dir: &Path) -> Vec<Cue> {
    ffmpeg(&["-f", "lavfi", "-i", "movie=captioned.ts[out+subcc]", "-map", "0:1", "ffmpeg.srt"], dir);
    read(&std::fs::read_to_string(dir.join("ffmpeg.srt")).unwrap(), TextFormat::Srt).unwrap()
}

fn frame_of(ns: u64) -> u64 {
    FrameRate::from_milli(RATE_MILLI).unwrap().frame_at(ns)
}

#[test]
fn cues_survive_h264_sei_and_mpeg_ts() {
    let dir = tempfile::tempdir().unwrap();
    let cues = support::generated_cues(16);
    let frames = (frame_of(cues.last().unwrap().end) + 30) as usize;
    let ts = captioned_ts(dir.path(), &cues, frames);

    let ours = extract_from_ts(&ts, CaptionSource::default()).unwrap();
    assert_eq!(ours.frames, frames as u64);
    assert_eq!(ours.ts.continuity_errors + ours.ts.malformed + ours.captions.parity_errors, 0, "{ours:?}");
    let theirs = ffmpeg_subcc(dir.path());
    assert_eq!(ours.cues.len(), cues.len(), "we found {:?}", ours.cues);
    assert_eq!(theirs.len(), cues.len(), "ffmpeg found {theirs:?}");
    // A typed ' goes out as the standard set's 0x27, which cea608-types and
    // ffmpeg show as ’; ffmpeg 5.1 also shows the 608 em dash as '-'.
    let plain = |t: &str| t.replace('’', "'");
    for (i, ((want, got), ff)) in cues.iter().zip(&ours.cues).zip(&theirs).enumerate() {
        assert_eq!(plain(&got.text), plain(&want.text), "cue {i}");
        assert_eq!(plain(&ff.text), plain(&want.text).replace('—', "-"), "cue {i} through ffmpeg");
        // Times come back on the cue's frame (the encoder rounds to frames).
        assert_eq!((frame_of(got.start), frame_of(got.end)), (frame_of(want.start), frame_of(want.end)), "cue {i}");
        // ffmpeg prints whole milliseconds.
        assert!(got.start.abs_diff(ff.start) <= 1_000_000, "cue {i}: start {} vs ffmpeg {}", got.start, ff.start);
        assert!(got.end.abs_diff(ff.end) <= 1_000_000, "cue {i}: end {} vs ffmpeg {}", got.end, ff.end);
    }
}

#[test]
fn a_stream_without_video_is_a_clear_error() {
    let err = extract_from_ts(&[0x47; 188 * 4], CaptionSource::default()).unwrap_err();
    assert!(err.to_string().contains("no H.264 video"), "{err}");
}
