//! HLS segments and playlists from `stagebox_media::hls`, read by ffprobe
//! (the playlist end to end, and each segment alone) and parsed by
//! m3u8-rs.

#![allow(clippy::unwrap_used)]

mod support;

use stagebox_media::hls::{MediaPlaylist, Segment, Segmenter};
use stagebox_media::ts::{Demuxer, Event, PACKET_SIZE};
use std::path::Path;
use std::process::Command;

/// ffprobe's answer (stdout, trimmed) for `args` on `file`.
fn ffprobe(dir: &Path, args: &[&str], file: &str) -> String {
    let out = Command::new("ffprobe").current_dir(dir).args(["-v", "error"]).args(args).arg(file).output().unwrap();
    assert!(out.status.success(), "ffprobe {args:?} {file}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Frames ffprobe decodes in stream `which` (`v:0`, `a:0`) of `file`
/// (listed under the program and again on its own: the same number).
fn frames(dir: &Path, which: &str, file: &str) -> u64 {
    let args = ["-count_frames", "-select_streams", which, "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"];
    let text = ffprobe(dir, &args, file);
    text.lines().find(|l| !l.is_empty()).and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("{file}: {text:?}"))
}

fn pid(packet: &[u8]) -> u16 {
    u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff
}

/// 7 s of H.264 (a keyframe each second, B-frames) and AAC in 2 s
/// segments, as a live packager would see it: seven packets at a time.
fn segmented(dir: &Path) -> (Vec<u8>, Vec<Segment>) {
    let ts = support::lavfi_ts_for(dir, "testsrc", "source.ts", 7, Some(25));
    let segments = segment(&ts);
    (ts, segments)
}

fn segment(ts: &[u8]) -> Vec<Segment> {
    let mut segmenter = Segmenter::new(2.0);
    let mut segments = Vec::new();
    // Arrival times: 2026-11-24T00:00:00Z on, 1 ms a datagram.
    let t0 = 20_781 * 86_400_000;
    for (i, datagram) in ts.chunks(7 * PACKET_SIZE).enumerate() {
        segments.extend(segmenter.push(datagram, t0 + i as i64));
    }
    segments.extend(segmenter.finish());
    segments
}

#[test]
fn ffprobe_reads_the_playlist_end_to_end_and_each_segment_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (ts, segments) = segmented(dir.path());
    let mut playlist = MediaPlaylist::new(10, 2);
    for s in &segments {
        let name = format!("seg{}.ts", s.sequence);
        std::fs::write(dir.path().join(&name), &s.bytes).unwrap();
        assert!(!s.discontinuity);
        assert!(playlist.push(name, s.duration, s.utc_ms, s.discontinuity).is_empty());
    }
    playlist.end();
    std::fs::write(dir.path().join("live.m3u8"), playlist.render()).unwrap();

    // Keyframes every second, segments of at least 2 s: 2, 2, 2 and the
    // last second.
    let durations: Vec<f64> = segments.iter().map(|s| s.duration).collect();
    assert_eq!(durations.len(), 4, "{durations:?}");
    for (got, want) in durations.iter().zip([2.0, 2.0, 2.0, 1.0]) {
        assert!((got - want).abs() < 0.05, "{durations:?}");
    }
    // Each segment opens with the PAT and the PMT, and a player starting
    // on it decodes a keyframe first.
    let pmt_pid = Demuxer::new()
        .push(&ts)
        .into_iter()
        .find_map(|e| match e {
            Event::Pmt { pid, .. } => Some(pid),
            _ => None,
        })
        .unwrap();
    for s in &segments {
        let name = format!("seg{}.ts", s.sequence);
        assert_eq!((pid(&s.bytes[..PACKET_SIZE]), pid(&s.bytes[PACKET_SIZE..])), (0, pmt_pid), "{name}");
        let first = [
            "-select_streams",
            "v:0",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "default=nw=1:nk=1",
        ];
        assert_eq!(ffprobe(dir.path(), &first, &name), "1", "{name}");
    }
    // Through the playlist ffmpeg's HLS demuxer finds every video frame
    // of the source and its audio (all but what came before the first
    // keyframe, which no segment carries: at most a frame or two).
    assert_eq!(frames(dir.path(), "v:0", "live.m3u8"), frames(dir.path(), "v:0", "source.ts"));
    let (audio, source_audio) = (frames(dir.path(), "a:0", "live.m3u8"), frames(dir.path(), "a:0", "source.ts"));
    assert!(audio <= source_audio && audio + 2 >= source_audio, "{audio} of {source_audio} audio frames");
    // The segments hold the source's packets from the first keyframe on,
    // unchanged, in order (less the PAT and PMT put at their heads).
    let body: Vec<u8> = segments.iter().flat_map(|s| s.bytes[2 * PACKET_SIZE..].iter().copied()).collect();
    assert!(
        body.len() > ts.len() * 9 / 10 && ts.ends_with(&body),
        "segments are not the source from its first keyframe"
    );
}

#[test]
fn m3u8_rs_reads_the_live_window() {
    let dir = tempfile::tempdir().unwrap();
    let (_, segments) = segmented(dir.path());
    let mut playlist = MediaPlaylist::new(3, 2);
    let mut deleted = Vec::new();
    for s in &segments {
        deleted.extend(playlist.push(format!("seg{}.ts", s.sequence), s.duration, s.utc_ms, s.discontinuity));
    }
    assert_eq!(deleted, ["seg0.ts"]);
    let text = playlist.render();
    let parsed = match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
        other => panic!("not a media playlist: {other:?}\n{text}"),
    };
    assert_eq!((parsed.media_sequence, parsed.target_duration, parsed.end_list), (1, 2, false));
    let uris: Vec<&str> = parsed.segments.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(uris, ["seg1.ts", "seg2.ts", "seg3.ts"]);
    for (got, s) in parsed.segments.iter().zip(&segments[1..]) {
        assert!((f64::from(got.duration) - s.duration).abs() < 0.001);
        // The date is the segment's first packet's arrival, to the ms.
        let date = got.program_date_time.unwrap();
        assert_eq!(date.timestamp_millis(), s.utc_ms, "{text}");
    }
}

/// The source, then the source again (as when an encoder restarts: the
/// timestamps go back 7 s): the segment before the jump ends where its
/// time did, the next is marked discontinuous, and ffmpeg reads all of
/// both through the playlist.
#[test]
fn a_time_base_jump_is_a_discontinuity() {
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc", "source.ts", 7, Some(25));
    let segments = segment(&[ts.as_slice(), ts.as_slice()].concat());
    let flags: Vec<bool> = segments.iter().map(|s| s.discontinuity).collect();
    assert_eq!(flags, [false, false, false, false, true, false, false, false]);
    for (s, want) in segments.iter().zip([2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 2.0, 1.0]) {
        assert!((s.duration - want).abs() < 0.05, "{:?}", segments.iter().map(|s| s.duration).collect::<Vec<_>>());
    }
    let mut playlist = MediaPlaylist::new(10, 2);
    for s in &segments {
        let name = format!("seg{}.ts", s.sequence);
        std::fs::write(dir.path().join(&name), &s.bytes).unwrap();
        playlist.push(name, s.duration, s.utc_ms, s.discontinuity);
    }
    playlist.end();
    let text = playlist.render();
    assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME"), "{text}");
    std::fs::write(dir.path().join("live.m3u8"), &text).unwrap();
    assert_eq!(frames(dir.path(), "v:0", "live.m3u8"), 2 * frames(dir.path(), "v:0", "source.ts"));
}

/// A splice point starts a segment at the first keyframe at or after it,
/// whatever the target; one behind the stream, too far ahead, or asked for
/// before any picture is refused.
#[test]
fn a_splice_point_starts_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let ts = support::lavfi_ts_for(dir.path(), "testsrc", "source.ts", 7, Some(25));
    let mut segmenter = Segmenter::new(2.0);
    assert!(!segmenter.cut_at(0), "no picture seen yet");
    let mut segments = Vec::new();
    let mut asked = false;
    for (i, datagram) in ts.chunks(7 * PACKET_SIZE).enumerate() {
        segments.extend(segmenter.push(datagram, i as i64));
        let Some(latest) = segmenter.latest_pts() else { continue };
        if !asked && !segments.is_empty() {
            // Past 2 s: a splice half a second past the keyframe at 3 s
            // (PTS of the first segment's start + 3.5 s) lands on the one
            // at 4 s; and one just ahead of 4.5 s, so the 4 s keyframe is
            // not early enough for it but the 5 s one is.
            let first = segments[0].pts;
            assert!(!segmenter.cut_at(latest), "not ahead");
            assert!(!segmenter.cut_at(latest.wrapping_sub(90_000) & ((1 << 33) - 1)), "behind");
            assert!(!segmenter.cut_at((latest + stagebox_media::hls::MAX_SPLIT_AHEAD + 1) % (1 << 33)), "too far");
            assert!(segmenter.cut_at(first + 3 * 90_000 + 45_000));
            assert!(segmenter.cut_at(first + 4 * 90_000 + 45_000));
            asked = true;
        }
    }
    segments.extend(segmenter.finish());
    let durations: Vec<f64> = segments.iter().map(|s| (s.duration * 10.0).round() / 10.0).collect();
    // Cut at 2 (target), 4 (the first splice), 5 (the second: 1 s after
    // the last cut, under the target), then 7 (the end).
    assert_eq!(durations, [2.0, 2.0, 1.0, 2.0], "{durations:?}");
    let starts: Vec<u64> = segments.iter().map(|s| s.pts - segments[0].pts).collect();
    assert_eq!(starts, [0, 2 * 90_000, 4 * 90_000, 5 * 90_000]);
}

/// The master playlist's CODECS and RESOLUTION, read from a segment, name what ffprobe
/// finds: H.264 at ffprobe's profile and level (x264 picks High 4:4:4
/// Predictive for lavfi's RGB test pattern) and AAC LC.
#[test]
fn codecs_name_the_streams_as_ffprobe_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_, segments) = segmented(dir.path());
    std::fs::write(dir.path().join("seg.ts"), &segments[0].bytes).unwrap();
    let entries = ["-show_entries", "stream=codec_name,profile,level,width,height", "-of", "csv=p=0"];
    let probed = ffprobe(dir.path(), &entries, "seg.ts");
    let mut lines: Vec<&str> = probed.lines().filter(|l| !l.is_empty()).collect();
    lines.sort();
    let variant = stagebox_media::hls::describe(&segments[0].bytes);
    let codecs = variant.codecs.unwrap();
    let (video, audio) = codecs.split_once(',').unwrap();
    let (profile, level) =
        (u8::from_str_radix(&video[5..7], 16).unwrap(), u8::from_str_radix(&video[9..11], 16).unwrap());
    let profile_name = match profile {
        66 => "Baseline",
        77 => "Main",
        100 => "High",
        110 => "High 10",
        122 => "High 4:2:2",
        244 => "High 4:4:4 Predictive",
        other => panic!("profile {other}"),
    };
    let (w, h) = variant.resolution.unwrap();
    assert!(lines.contains(&format!("h264,{profile_name},{w},{h},{level}").as_str()), "{codecs} {w}×{h} vs {lines:?}");
    assert_eq!(audio, "mp4a.40.2");
    assert!(lines.iter().any(|l| l.starts_with("aac,LC")), "{lines:?}");
}
