//! `cargo xtask bench ladder`: the encoding ladder against the ffmpeg CLI
//! running the same ladder on the same file, in one run.
//!
//! The source: 20 s of 1920×1080 at 25 fps (ffmpeg's testsrc2, x264
//! ultrafast at 8 Mb/s, a keyframe a second) with AAC. The ladder: the
//! seed's defaults (720p at 2.5 Mb/s, 1080p at 5 and 8 Mb/s), x264
//! `veryfast`, a forced IDR every 2 s, no scene cuts, closed GOPs, audio
//! copied. Stagebox: `stagebox_codec::Ladder` on the file read in
//! datagrams, the renditions' transport streams counted and dropped.
//! ffmpeg: one process decoding once, `split` and `scale` (bilinear, as
//! the ladder scales) into three libx264 encodes with the same options and
//! `-force_key_frames` every 2 s, each muxed to MPEG-TS into /dev/null.
//! Both use every core (x264's and the decoder's threads on auto). Three
//! rounds, Stagebox and ffmpeg taking turns so that a disturbance of the
//! box falls on both; the best of each, as pictures of source a second.
//! The ratio is Stagebox's over ffmpeg's (1 = the same speed; the target
//! is at most 5% slower).

#![allow(clippy::unwrap_used)]

use stagebox_bench::report;
use stagebox_codec::{Ladder, LadderConfig, Rendition};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const SECONDS: u32 = 20;
const FPS: u32 = 25;
const SEGMENT_S: u32 = 2;
const PRESET: &str = "veryfast";

fn source(dir: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
        .args(["-i", &format!("testsrc2=size=1920x1080:rate={FPS}"), "-f", "lavfi", "-i", "sine=sample_rate=48000"])
        .args(["-t", &SECONDS.to_string(), "-c:v", "libx264", "-preset", "ultrafast", "-g", &FPS.to_string()])
        .args(["-b:v", "8M", "-c:a", "aac", "-f", "mpegts", "source.ts"])
        .output()
        .expect("ffmpeg must be installed (cargo xtask setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join("source.ts")).unwrap()
}

/// Seconds for Stagebox's ladder over `ts`.
fn ours(ts: &[u8]) -> f64 {
    let start = Instant::now();
    let config = LadderConfig {
        renditions: Rendition::defaults(),
        segment_s: f64::from(SEGMENT_S),
        preset: PRESET.into(),
        audio_bitrate: None,
    };
    let mut ladder = Ladder::new(config).unwrap();
    let mut bytes = 0;
    for chunk in ts.chunks(7 * 188) {
        bytes += ladder.push(chunk).unwrap().iter().map(Vec::len).sum::<usize>();
    }
    bytes += ladder.finish().unwrap().iter().map(Vec::len).sum::<usize>();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(ladder.decoded(), u64::from(SECONDS * FPS));
    assert!(bytes > 1_000_000, "{bytes} bytes out");
    seconds
}

/// Seconds for the ffmpeg CLI running the same ladder.
fn theirs(dir: &Path) -> f64 {
    let renditions = Rendition::defaults();
    let split: Vec<String> = (0..renditions.len()).map(|i| format!("[s{i}]")).collect();
    let mut graph = format!("[0:v]split={}{}", renditions.len(), split.concat());
    for (i, r) in renditions.iter().enumerate() {
        graph.push_str(&format!(";[s{i}]scale={}:{}:flags=bilinear[o{i}]", r.width, r.height));
    }
    let mut c = Command::new("ffmpeg");
    c.current_dir(dir).args(["-hide_banner", "-loglevel", "error", "-y", "-i", "source.ts", "-filter_complex", &graph]);
    for (i, r) in renditions.iter().enumerate() {
        let kbps = r.bitrate / 1000;
        c.args(["-map", &format!("[o{i}]"), "-map", "0:a", "-c:v", "libx264", "-preset", PRESET]);
        c.args(["-b:v", &format!("{kbps}k"), "-maxrate", &format!("{kbps}k"), "-bufsize", &format!("{}k", 2 * kbps)]);
        c.args(["-g", &(2 * SEGMENT_S * FPS).to_string(), "-forced-idr", "1"]);
        c.args(["-force_key_frames", &format!("expr:gte(t,n_forced*{SEGMENT_S})")]);
        c.args(["-x264-params", "scenecut=0:open-gop=0:repeat-headers=1", "-c:a", "copy", "-f", "mpegts", "/dev/null"]);
    }
    let start = Instant::now();
    let out = c.output().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    seconds
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ts = source(dir.path());
    let frames = f64::from(SECONDS * FPS);
    let (mut stagebox, mut ffmpeg) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        stagebox = stagebox.min(ours(&ts));
        ffmpeg = ffmpeg.min(theirs(dir.path()));
    }
    report("ladder_fps_3_renditions_1080p25", frames / stagebox, "fps", "ffmpeg_cli", frames / ffmpeg);
}
