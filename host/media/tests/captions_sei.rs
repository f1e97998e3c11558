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

/// ffmpeg's reading of a caption file as SRT cues.
fn ffmpeg_cues(dir: &Path, file: &str) -> Vec<Cue> {
    let out = format!("{file}.srt");
    ffmpeg(&["-i", file, "-map", "0:s:0", "-c:s", "srt", &out], dir);
    read(&std::fs::read_to_string(dir.join(out)).unwrap(), TextFormat::Srt).unwrap()
}

#[test]
fn captions_cut_with_the_stream_come_back_through_ffmpeg() {
    use stagebox_media::cmaf::{Cutter, Media};
    use stagebox_media::fmp4::WebVttTrack;
    use stagebox_media::hls::webvtt_segment;
    let dir = tempfile::tempdir().unwrap();
    let cues = support::generated_cues(6);
    let frames = (frame_of(cues.last().unwrap().end) + 60) as usize;
    let ts = captioned_ts(dir.path(), &cues, frames);
    // The cutter's cc_data, decoded in its order, gives the same cues as
    // reading the whole stream.
    let mut cutter = Cutter::new(2.0);
    cutter.keep_captions();
    let mut video = Vec::new();
    for datagram in ts.chunks(7 * 188) {
        video.extend(cutter.push(datagram, 0).into_iter().filter(|s| s.media == Media::Video));
    }
    video.extend(cutter.finish().into_iter().filter(|s| s.media == Media::Video));
    let zero = cutter.zero().unwrap();
    let ns = |ticks: u64| ticks * 100_000 / 9;
    let mut decoder = CcDecoder::new(CaptionSource::default());
    let mut ours = Vec::new();
    for (pts, cc) in cutter.take_captions() {
        ours.extend(decoder.decode_cc(&cc, ns(pts - zero)));
    }
    let end = video.last().map(|s| s.time + s.duration - zero).unwrap();
    ours.extend(decoder.flush(ns(end)));
    let whole = extract_from_ts(&ts, CaptionSource::default()).unwrap();
    assert_eq!(ours, whole.cues, "the same cues, at the same times");
    assert_eq!(ours.len(), cues.len());

    // As WebVTT segments for HLS (times from zero) and as a wvtt track for
    // DASH, a segment per video segment; ffmpeg reads the WebVTT back.
    let on_timeline: Vec<Cue> =
        ours.iter().map(|c| Cue { start: c.start + ns(zero), end: c.end + ns(zero), ..c.clone() }).collect();
    let mut track = WebVttTrack::new();
    let mut mp4 = track.init_segment();
    let mut shown = Vec::new();
    for (i, s) in video.iter().enumerate() {
        mp4.extend(track.fragment(s.time, s.time + s.duration, &on_timeline));
        let vtt = webvtt_segment(&on_timeline, ns(s.time), ns(s.time + s.duration), ns(zero), zero);
        assert!(vtt.starts_with(&format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{zero},LOCAL:00:00:00.000\n")), "{vtt}");
        let name = format!("segment{i}.vtt");
        std::fs::write(dir.path().join(&name), &vtt).unwrap();
        if vtt.contains("-->") {
            shown.extend(ffmpeg_cues(dir.path(), &name));
        }
    }
    // A cue that spans segments is in each: players keep one.
    shown.dedup();
    let plain = |cues: &[Cue]| {
        cues.iter().map(|c| (c.start / 1_000_000, c.end / 1_000_000, c.plain_text())).collect::<Vec<_>>()
    };
    // WebVTT times are whole ms.
    let (shown, want) = (plain(&shown), plain(&ours));
    assert_eq!(shown.len(), want.len(), "HLS WebVTT segments: {shown:?}");
    for (got, want) in shown.iter().zip(&want) {
        assert!(got.0.abs_diff(want.0) <= 1 && got.1.abs_diff(want.1) <= 1 && got.2 == want.2, "{got:?} vs {want:?}");
    }
    // ffmpeg 5.1 reads no `wvtt` (dash.js does, in the daemon's test):
    // the track is read back here, sample by sample.
    let mut joined: Vec<(u64, u64, String)> = Vec::new();
    for (start, end, texts) in wvtt_samples(&mp4) {
        for text in texts {
            match joined.iter_mut().rev().find(|c| c.2 == text && c.1 == start) {
                Some(cue) => cue.1 = end,
                None => joined.push((start, end, text)),
            }
        }
    }
    let ms = |ticks: u64| (ticks - zero) / 90;
    let joined: Vec<(u64, u64, String)> = joined.into_iter().map(|(a, b, t)| (ms(a), ms(b), t)).collect();
    let want: Vec<(u64, u64, String)> =
        ours.iter().map(|c| (c.start / 1_000_000, c.end / 1_000_000, c.text.clone())).collect();
    assert_eq!(joined.len(), want.len(), "{joined:?}");
    for (got, want) in joined.iter().zip(&want) {
        assert!(got.0.abs_diff(want.0) <= 1 && got.1.abs_diff(want.1) <= 1 && got.2 == want.2, "{got:?} vs {want:?}");
    }
}

/// A box's type and body at the start of `b`, and what follows.
fn next_box(b: &[u8]) -> Option<([u8; 4], &[u8], &[u8])> {
    let size = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let kind: [u8; 4] = b.get(4..8)?.try_into().ok()?;
    Some((kind, b.get(8..size)?, &b[size..]))
}

/// Each sample of a `wvtt` fMP4 track: its span (90 kHz, from the `tfdt`
/// and the `trun` durations) and the `payl` texts of its `vttc` boxes.
fn wvtt_samples(mut file: &[u8]) -> Vec<(u64, u64, Vec<String>)> {
    let mut out = Vec::new();
    let mut pending: Vec<(u64, u64, usize)> = Vec::new();
    while let Some((kind, body, rest)) = next_box(file) {
        file = rest;
        if &kind == b"moof" {
            let traf = next_box(&body[16..]).unwrap().1;
            let (mut base, mut sizes) = (0, Vec::new());
            let mut inner = traf;
            while let Some((k, b, r)) = next_box(inner) {
                inner = r;
                if &k == b"tfdt" {
                    base = u64::from_be_bytes(b[4..12].try_into().unwrap());
                } else if &k == b"trun" {
                    let count = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize;
                    for n in 0..count {
                        let at = 12 + n * 16;
                        let field = |o: usize| u32::from_be_bytes(b[at + o..at + o + 4].try_into().unwrap());
                        sizes.push((field(0) as u64, field(4) as usize));
                    }
                }
            }
            for (duration, size) in sizes {
                pending.push((base, base + duration, size));
                base += duration;
            }
        } else if &kind == b"mdat" {
            let mut data = body;
            for (start, end, size) in pending.drain(..) {
                let (mut sample, rest) = data.split_at(size);
                data = rest;
                let mut texts = Vec::new();
                while let Some((k, b, r)) = next_box(sample) {
                    sample = r;
                    let mut cue = if &k == b"vttc" { b } else { &[][..] };
                    while let Some((kk, bb, rr)) = next_box(cue) {
                        cue = rr;
                        if &kk == b"payl" {
                            texts.push(String::from_utf8(bb.to_vec()).unwrap());
                        }
                    }
                }
                out.push((start, end, texts));
            }
        }
    }
    out
}
