//! The ladder against ffmpeg: an ffmpeg-made source (H.264 with B-frames,
//! a keyframe a second, and AAC) through a two-rendition ladder with 1 s
//! segments and a splice point at 2.5 s; ffprobe reads each rendition:
//! its size, every picture, keyframes on the same pictures in both (each
//! segment boundary and the splice point), the audio copied; ffmpeg
//! decodes each with `-xerror`.

#![allow(clippy::unwrap_used)] // a test fails by panicking

#[path = "../../media/tests/support/mod.rs"]
mod support;

use stagebox_codec::{Ladder, LadderConfig, Rendition};
use std::path::Path;
use std::process::Command;

/// Each rendition's transport stream from `source`, fed in datagrams.
fn run(ladder: &mut Ladder, source: &[u8]) -> Vec<Vec<u8>> {
    let mut outputs = vec![Vec::new(); ladder.renditions().len()];
    let results = source.chunks(7 * 188).map(|c| ladder.push(c).unwrap()).collect::<Vec<_>>();
    for bytes in results.into_iter().chain([ladder.finish().unwrap()]) {
        for (out, bytes) in outputs.iter_mut().zip(bytes) {
            out.extend(bytes);
        }
    }
    outputs
}

/// The presentation times (ms from the first) of the keyframes of `file`.
fn keyframes(dir: &Path, file: &str) -> (usize, Vec<i64>) {
    let frames: Vec<(f64, bool)> = support::ffprobe_entries(dir, "v:0", "frame=pts_time,key_frame", file)
        .iter()
        .map(|l| {
            let (key, t) = l.split_once(',').unwrap();
            (t.split(',').next().unwrap().parse().unwrap(), key == "1")
        })
        .collect();
    let first = frames.iter().map(|f| f.0).fold(f64::INFINITY, f64::min);
    let keys = frames.iter().filter(|f| f.1).map(|f| ((f.0 - first) * 1000.0).round() as i64).collect();
    (frames.len(), keys)
}

#[test]
fn renditions_have_their_size_every_picture_and_aligned_keyframes() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let first_pts = {
        let mut demux = stagebox_media::ts::Demuxer::new();
        demux.push(&source).into_iter().find_map(|e| match e {
            stagebox_media::ts::Event::Pes { pes, .. } if pes.stream_id & 0xf0 == 0xe0 => pes.pts,
            _ => None,
        })
    }
    .unwrap();
    let renditions = vec![Rendition::parse("small:96x54@150").unwrap(), Rendition::parse("big:320x180@500").unwrap()];
    let mut ladder = Ladder::new(LadderConfig {
        renditions: renditions.clone(),
        segment_s: 1.0,
        preset: "veryfast".into(),
        audio_bitrate: None,
    })
    .unwrap();
    // The presentation order's first picture is the first keyframe (at
    // the first PTS in the stream, which B-frames do not precede).
    ladder.cut_at(first_pts + 225_000);
    let outputs = run(&mut ladder, &source);
    assert_eq!(ladder.decoded(), 100);
    let (source_frames, source_keys) = keyframes(dir.path(), "source.ts");
    assert_eq!((source_frames, source_keys.len()), (100, 4));
    let source_audio = support::ffprobe_entries(dir.path(), "a:0", "packet=pts_time", "source.ts").len();
    let mut keys = Vec::new();
    for (rendition, ts) in renditions.iter().zip(&outputs) {
        let name = format!("{}.ts", rendition.name);
        std::fs::write(dir.path().join(&name), ts).unwrap();
        let stream = support::ffprobe_entries(dir.path(), "v:0", "stream=codec_name,width,height", &name);
        assert_eq!(stream[0], format!("h264,{},{}", rendition.width, rendition.height));
        let (frames, at) = keyframes(dir.path(), &name);
        assert_eq!(frames, 100, "{name}: every picture");
        keys.push(at);
        let audio = support::ffprobe_entries(dir.path(), "a:0", "packet=pts_time", &name).len();
        assert!(audio <= source_audio && audio + 10 >= source_audio, "{name}: {audio} of {source_audio} audio frames");
        let out = Command::new("ffmpeg")
            .current_dir(dir.path())
            .args(["-v", "error", "-xerror", "-i", &name, "-f", "null", "-"])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A keyframe at each 1 s boundary, and at the first picture at or
    // after the splice point (2.52 s at 25 fps), in both renditions.
    assert_eq!(keys[0], [0, 1000, 2000, 2520, 3000], "{keys:?}");
    assert_eq!(keys[0], keys[1]);
    assert!(outputs[1].len() > outputs[0].len(), "the bigger rendition takes more bytes");
}

#[test]
fn bad_renditions_are_refused_with_the_reason() {
    for (text, says) in [
        ("720p", "NAME:WIDTHxHEIGHT@KBPS"),
        ("720p:1281x720@2500", "even size"),
        ("720p:1280x720@20", "100 to 100000"),
        ("7 20p:1280x720@2500", "a name of letters"),
    ] {
        let e = Rendition::parse(text).unwrap_err().to_string();
        assert!(e.contains(says), "{text}: {e}");
    }
    assert_eq!(Rendition::defaults().iter().map(|r| r.bitrate).collect::<Vec<_>>(), [2_500_000, 5_000_000, 8_000_000]);
}

#[test]
fn captions_survive_every_rendition() {
    use stagebox_media::captions::{CaptionSource, extract_from_ts};
    let dir = tempfile::tempdir().unwrap();
    let cues = support::generated_cues(4);
    let frames = (cues.last().unwrap().end * 30 / 1_001_000_000 + 60) as usize;
    let source = support::captioned_ts(dir.path(), &cues, frames);
    let renditions = vec![Rendition::parse("same:160x120@300").unwrap(), Rendition::parse("small:96x72@150").unwrap()];
    let mut ladder =
        Ladder::new(LadderConfig { renditions, segment_s: 1.0, preset: "veryfast".into(), audio_bitrate: None })
            .unwrap();
    let outputs = run(&mut ladder, &source);
    let want = extract_from_ts(&source, CaptionSource::default()).unwrap().cues;
    assert_eq!(want.len(), cues.len());
    for out in &outputs {
        let got = extract_from_ts(out, CaptionSource::default()).unwrap();
        assert_eq!(got.cues, want, "the source's cues, at the same times");
    }
}

#[test]
fn audio_is_encoded_again_at_the_ladders_bitrate() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::lavfi_ts_for(dir.path(), "testsrc2", "source.ts", 4, Some(25));
    let renditions = vec![Rendition::parse("small:96x54@150").unwrap()];
    let config = LadderConfig { renditions, segment_s: 1.0, preset: "veryfast".into(), audio_bitrate: Some(64_000) };
    let mut ladder = Ladder::new(config).unwrap();
    let out = run(&mut ladder, &source).remove(0);
    std::fs::write(dir.path().join("small.ts"), &out).unwrap();
    let stream = |file: &str| {
        support::ffprobe_entries(dir.path(), "a:0", "stream=codec_name,profile,sample_rate,channels", file)
    };
    assert_eq!(stream("small.ts"), stream("source.ts"), "AAC LC at the source's rate and channels");
    // The source's 4 s of sound, frame for frame but the first few (before
    // the first picture), at 64 kb/s instead of ffmpeg's default 128.
    let times = |file: &str| -> Vec<f64> {
        support::ffprobe_entries(dir.path(), "a:0", "packet=pts_time", file)
            .iter()
            .map(|t| t.parse().unwrap())
            .collect()
    };
    let (ours, theirs) = (times("small.ts"), times("source.ts"));
    assert!(ours.len() + 12 >= theirs.len() && ours.len() <= theirs.len() + 2, "{} of {}", ours.len(), theirs.len());
    assert!(ours.windows(2).all(|w| ((w[1] - w[0]) * 48_000.0 - 1024.0).abs() < 2.0), "frames back to back");
    let sizes: Vec<u64> = support::ffprobe_entries(dir.path(), "a:0", "packet=size", "small.ts")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let kbps = sizes.iter().sum::<u64>() as f64 * 8.0 / (ours.len() as f64 * 1024.0 / 48_000.0) / 1000.0;
    assert!((40.0..90.0).contains(&kbps), "{kbps} kb/s for 64");
    let out = Command::new("ffmpeg")
        .current_dir(dir.path())
        .args(["-v", "error", "-xerror", "-i", "small.ts", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
