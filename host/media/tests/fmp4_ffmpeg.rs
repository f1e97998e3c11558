//! Fragmented MP4 from `stagebox_media::fmp4`, read by ffprobe and
//! decoded by ffmpeg: an ffmpeg-made H.264 stream (B-frames, a keyframe a
//! second) and its AAC, taken from their transport stream, each written as
//! an init segment and fragments, frame for frame with the source's
//! timestamps.

#![allow(clippy::unwrap_used)]

mod support;

use stagebox_media::fmp4::{AvcTrack, Fmp4Error};
use stagebox_media::ts::{Demuxer, Event};
use std::process::Command;

/// The same for video stream 0.
fn probe(dir: &std::path::Path, entries: &str, file: &str) -> Vec<String> {
    support::ffprobe_entries(dir, "v:0", entries, file)
}

/// The PES packets of a transport stream whose stream_id matches `kind`
/// under `mask` (0xe0/0xf0: video; 0xc0/0xe0: audio), in order.
fn pes_of(ts: &[u8], mask: u8, kind: u8) -> Vec<stagebox_media::ts::Pes> {
    let mut demux = Demuxer::new();
    let mut events = demux.push(ts);
    events.extend(demux.finish());
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Pes { pes, .. } if pes.stream_id & mask == kind => Some(pes),
            _ => None,
        })
        .collect()
}

/// ffmpeg decodes `file` whole with `-xerror` and prints nothing.
fn decodes_cleanly(dir: &std::path::Path, file: &str) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-xerror", "-i", file, "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fragment's `tfdt` (version 1: 64 bits).
fn tfdt(fragment: &[u8]) -> u64 {
    let at = fragment.windows(4).position(|w| w == b"tfdt").unwrap() + 8;
    u64::from_be_bytes(fragment[at..at + 8].try_into().unwrap())
}

#[test]
fn ffprobe_decodes_every_frame_with_its_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let units = pes_of(&ts, 0xf0, 0xe0);
    assert_eq!(units.len(), 100, "4 s at 25 fps");
    let mut track = AvcTrack::new();
    assert_eq!(track.init_segment(), None, "nothing to describe yet");
    assert_eq!(track.push(&[0, 0, 1], 0, 0), Err(Fmp4Error::Empty));
    let mut file = Vec::new();
    let mut fragments = 0;
    for (i, pes) in units.iter().enumerate() {
        let (pts, dts) = (pes.pts.unwrap(), pes.dts.or(pes.pts).unwrap());
        // A fragment a GOP: cut before each keyframe but the first.
        if i > 0 && i % 25 == 0 {
            let fragment = track.fragment(Some(dts)).unwrap();
            // The fragment's decode time is when its keyframe is shown:
            // the shift by the first PTS − DTS (negative offsets after).
            let keyframe = &units[i - 25];
            assert_eq!(tfdt(&fragment), keyframe.pts.unwrap(), "fragment {fragments}");
            if file.is_empty() {
                assert!(keyframe.pts > keyframe.dts, "the source's keyframes are shown after decoding");
                file.extend(track.init_segment().unwrap());
            }
            file.extend(fragment);
            fragments += 1;
        }
        track.push(&pes.payload, pts, dts).unwrap();
    }
    file.extend(track.fragment(None).unwrap());
    assert_eq!(track.fragment(None), None, "nothing left");
    assert_eq!(fragments + 1, 4);
    std::fs::write(dir.path().join("track.mp4"), &file).unwrap();

    let codec = track.codec().unwrap();
    let stream = probe(dir.path(), "stream=codec_name,width,height,profile,level", "track.mp4");
    let source = probe(dir.path(), "stream=codec_name,width,height,profile,level", "source.ts");
    assert_eq!(stream, source, "the sample entry describes the same stream");
    let (w, h) = track.size().unwrap();
    assert!(source[0].contains(&format!(",{w},{h},")), "{source:?} vs {w}×{h}");
    assert!(codec.starts_with("avc1.") && codec.len() == 11, "{codec}");
    // Every frame, decoded, with the source's presentation times (relative
    // to the first: ffprobe shifts a TS's start) and key flags.
    let frames = |file: &str| {
        let lines = probe(dir.path(), "frame=pts,key_frame", file);
        let parsed: Vec<(i64, String)> = lines
            .iter()
            .filter_map(|l| {
                // key_frame,pts (ffprobe may add empty fields after).
                let mut fields = l.split(',');
                let key = fields.next()?.to_owned();
                Some((fields.next()?.parse::<i64>().ok()?, key))
            })
            .collect();
        let first = parsed.iter().map(|(p, _)| *p).min().unwrap();
        parsed.into_iter().map(|(p, k)| (p - first, k)).collect::<Vec<_>>()
    };
    let (ours, theirs) = (frames("track.mp4"), frames("source.ts"));
    assert_eq!(ours.len(), 100);
    assert_eq!(ours, theirs);
    // The source has B-frames, so composition offsets were written.
    assert!(units.iter().any(|p| p.dts.is_some_and(|d| Some(d) != p.pts)), "no B-frames in the source");
    decodes_cleanly(dir.path(), "track.mp4");
}

/// ffprobe's packets of audio stream 0 of `file`: times relative to the
/// first, in ms, and the stream's codec, rate and channels.
fn audio_of(dir: &std::path::Path, file: &str) -> (Vec<i64>, String) {
    let run = |entries: &str| support::ffprobe_entries(dir, "a:0", entries, file);
    let times: Vec<f64> = run("packet=pts_time").iter().filter_map(|l| l.trim_end_matches(',').parse().ok()).collect();
    let first = times.iter().copied().fold(f64::INFINITY, f64::min);
    let ms = times.iter().map(|t| ((t - first) * 1000.0).round() as i64).collect();
    (ms, run("stream=codec_name,sample_rate,channels")[0].clone())
}

#[test]
fn ffprobe_reads_the_aac_track_frame_for_frame() {
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let pes = pes_of(&ts, 0xe0, 0xc0);
    assert!(pes.len() > 10, "{} audio PES", pes.len());
    let mut track = stagebox_media::fmp4::AacTrack::new();
    assert_eq!(track.push(&[0u8; 16], 0), Err(Fmp4Error::NotAdts));
    let mut fragments = Vec::new();
    for (i, p) in pes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            fragments.push(track.fragment().unwrap());
        }
        track.push(&p.payload, p.pts.unwrap()).unwrap();
    }
    fragments.push(track.fragment().unwrap());
    let mut file = track.init_segment().unwrap();
    file.extend(fragments.concat());
    std::fs::write(dir.path().join("audio.mp4"), &file).unwrap();
    assert_eq!(track.codec().as_deref(), Some("mp4a.40.2"));
    let (ours, ours_stream) = audio_of(dir.path(), "audio.mp4");
    let (theirs, theirs_stream) = audio_of(dir.path(), "source.ts");
    assert_eq!(ours_stream, theirs_stream, "codec, rate and channels");
    assert_eq!(ours.len(), theirs.len(), "every frame");
    // 1024 samples a frame at the source's rate: the same times, to the
    // ms ffprobe prints.
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() <= 1, "{a} ms vs {b} ms");
    }
    decodes_cleanly(dir.path(), "audio.mp4");
}

#[test]
fn a_cut_stream_gives_contiguous_tracks_that_ffmpeg_plays() {
    use stagebox_media::cmaf::{Cutter, Media};
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let mut cutter = Cutter::new(1.0);
    let mut segments = Vec::new();
    for (i, datagram) in ts.chunks(7 * 188).enumerate() {
        segments.extend(cutter.push(datagram, i as i64));
    }
    segments.extend(cutter.finish());
    assert_eq!(cutter.refused(), 0);
    let track = |media| segments.iter().filter(|s| s.media == media).collect::<Vec<_>>();
    let (video, audio) = (track(Media::Video), track(Media::Audio));
    assert_eq!(video.len(), 4, "a segment a GOP");
    assert_eq!(audio.len(), 4, "the audio cut with each");
    for list in [&video, &audio] {
        for pair in list.windows(2) {
            assert_eq!(pair[0].time + pair[0].duration, pair[1].time, "back to back");
            assert_eq!(pair[0].sequence + 1, pair[1].sequence);
        }
    }
    assert!(video.iter().all(|s| s.duration == 90_000), "{:?}", video.iter().map(|s| s.duration).collect::<Vec<_>>());
    assert_eq!(cutter.zero(), Some(video[0].time));
    let rate = u64::from(cutter.timescale(Media::Audio).unwrap());
    for (v, a) in video.iter().zip(&audio) {
        // An audio segment starts with the first PES at or after its
        // video segment's keyframe.
        let (v_s, a_s) = (v.time as f64 / 90_000.0, a.time as f64 / rate as f64);
        assert!((0.0..0.35).contains(&(a_s - v_s)), "video at {v_s} s, audio at {a_s} s");
    }
    let file = |media, name: &str| {
        let mut bytes = cutter.init_segment(media).unwrap();
        bytes.extend(segments.iter().filter(|s| s.media == media).flat_map(|s| s.bytes.clone()));
        std::fs::write(dir.path().join(name), bytes).unwrap();
    };
    file(Media::Video, "video.mp4");
    file(Media::Audio, "audio.mp4");
    assert_eq!(probe(dir.path(), "frame=pts", "video.mp4").len(), 100, "every frame");
    let (ours, _) = audio_of(dir.path(), "audio.mp4");
    let (theirs, _) = audio_of(dir.path(), "source.ts");
    // The source's audio from the first keyframe on (less what came
    // before it), frame for frame to its end.
    assert!(ours.len() + 16 >= theirs.len() && ours.len() < theirs.len(), "{} of {}", ours.len(), theirs.len());
    let skipped = theirs.len() - ours.len();
    for (a, b) in ours.iter().zip(&theirs[skipped..]) {
        assert!((a - (b - theirs[skipped])).abs() <= 1, "{a} ms vs {b} ms");
    }
    decodes_cleanly(dir.path(), "video.mp4");
    decodes_cleanly(dir.path(), "audio.mp4");
}

#[test]
fn parts_make_up_their_segments_and_stay_within_the_part_target() {
    use stagebox_media::cmaf::{Cutter, Media};
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let mut cutter = Cutter::new(1.0);
    cutter.parts(0.25);
    let (mut segments, mut parts) = (Vec::new(), Vec::new());
    for datagram in ts.chunks(7 * 188) {
        let done = cutter.push(datagram, 0);
        parts.extend(cutter.take_parts());
        segments.extend(done);
    }
    segments.extend(cutter.finish());
    parts.extend(cutter.take_parts());
    let rate = u64::from(cutter.timescale(Media::Audio).unwrap());
    for media in [Media::Video, Media::Audio] {
        let (ticks, limit) = if media == Media::Video { (90_000, 22_500) } else { (rate, rate / 4) };
        let ours: Vec<_> = parts.iter().filter(|p| p.media == media).collect();
        let whole: Vec<u8> = segments.iter().filter(|s| s.media == media).flat_map(|s| s.bytes.clone()).collect();
        // The segments are their parts end to end, numbered in order.
        assert_eq!(ours.iter().flat_map(|p| p.bytes.clone()).collect::<Vec<u8>>(), whole, "{media:?}");
        assert!(ours.iter().enumerate().all(|(n, p)| p.number == n as u64));
        // Within the target, none empty; the last of a stream aside.
        let last = ours.len() - 1;
        for (i, p) in ours.iter().enumerate() {
            assert!(
                p.duration <= limit && (p.duration > 0 || i == last),
                "{media:?} part {i}: {} of {ticks}",
                p.duration
            );
        }
        assert!(ours.len() >= 4 * 4, "{media:?}: {} parts in 4 s", ours.len());
    }
    // The segments span their parts: back to back, about a second each.
    for media in [Media::Video, Media::Audio] {
        let track: Vec<_> = segments.iter().filter(|s| s.media == media).collect();
        assert!(track.windows(2).all(|w| w[0].time + w[0].duration == w[1].time), "{media:?} back to back");
        let scale = if media == Media::Video { 90_000.0 } else { rate as f64 };
        let seconds: Vec<f64> = track.iter().map(|s| s.duration as f64 / scale).collect();
        assert!(seconds[..seconds.len() - 1].iter().all(|d| (0.8..1.3).contains(d)), "{media:?}: {seconds:?}");
    }
    // Each video segment's first part starts with its keyframe, and a 1 s
    // segment at 25 fps is cut into equal parts of whole pictures under
    // the 0.25 s target: five of five pictures (0.2 s), not four of six
    // and one of one.
    let video: Vec<_> = parts.iter().filter(|p| p.media == Media::Video).collect();
    // (The stream's very last part has no next picture to measure it by.)
    let durations: Vec<u64> = video.iter().map(|p| p.duration).collect();
    assert!(durations[..durations.len() - 1].iter().all(|d| *d == 18_000), "{durations:?}");
    assert_eq!(video.iter().filter(|p| p.independent).count(), 4, "one keyframe a second");
    assert!(video[0].independent);
    let mut file = cutter.init_segment(Media::Video).unwrap();
    file.extend(segments.iter().filter(|s| s.media == Media::Video).flat_map(|s| s.bytes.clone()));
    std::fs::write(dir.path().join("parts.mp4"), file).unwrap();
    assert_eq!(probe(dir.path(), "frame=pts", "parts.mp4").len(), 100, "every frame");
    decodes_cleanly(dir.path(), "parts.mp4");
}
