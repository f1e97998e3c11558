//! What the reference-decoder tests share: a deterministic generator and
//! the Python that `cargo xtask setup` puts in `target/py`.

#![allow(dead_code, clippy::unwrap_used)] // each test uses what it needs

use stagebox_media::captions::sei::{a53_sei_nal, insert_sei};
use stagebox_media::captions::{Channel608, Cue, FrameRate, encode_cea608};
use stagebox_media::h264::nal_units;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bits(&mut self, n: u32) -> u64 {
        self.next() >> (64 - n)
    }
    pub fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Printable ASCII.
    pub fn ascii(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| b' ' + self.below(95) as u8).collect()
    }
    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

/// The worked examples of ANSI/SCTE 35 2023 §14.1–§14.7: (name, base64),
/// from `tests/data/scte35_spec_examples.txt`.
pub fn scte35_spec_examples() -> Vec<(&'static str, &'static str)> {
    include_str!("../data/scte35_spec_examples.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('|'))
        .collect()
}

/// The Python with the reference decoders (threefive, pycaption). Tests
/// fail, rather than skip, without it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STAGEBOX_PYTHON") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/python3");
    assert!(p.exists(), "{} is missing: run `cargo xtask setup`", p.display());
    p
}

/// Programme-like audio, interleaved: band-limited noise whose level jumps
/// every 1.5 s between -45 and -12 dBFS, different on each channel.
pub fn programme(rate: u32, channels: usize, seconds: f64) -> Vec<f32> {
    let mut rng = Rng(0x5eed_1770);
    let frames = (seconds * f64::from(rate)) as usize;
    let mut state = vec![0.0f64; channels];
    let mut gain = vec![0.0f64; channels];
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        if i % (rate as usize * 3 / 2) == 0 {
            for g in &mut gain {
                *g = 10f64.powf((-45.0 + rng.below(34) as f64) / 20.0);
            }
        }
        for c in 0..channels {
            let white = rng.below(1 << 16) as f64 / 32768.0 - 1.0;
            state[c] += 0.3 * (white - state[c]);
            out.push((state[c] * gain[c] * 2.0) as f32);
        }
    }
    out
}

const WORDS: &[&str] = &[
    "the", "news", "at", "ten", "WEATHER", "café", "niño", "¿qué?", "¡sí!", "♪", "½", "über", "Größe", "garçon",
    "«oui»", "naïve", "São", "Øresund", "©2026", "don’t", "it's", "[MUSIC]", "50°", "£5", "¢", "crème", "brûlée", "—",
    "años",
];

/// `count` cues of one to three lines drawing on every 608 character
/// class, with gaps and back-to-back cues, from 1 s on.
pub fn generated_cues(count: usize) -> Vec<Cue> {
    let mut rng = Rng(0x5eed_cafe);
    let mut t = 1_000_000_000u64;
    (0..count)
        .map(|_| {
            let lines = 1 + rng.below(3) as usize;
            let text: Vec<String> = (0..lines)
                .map(|_| {
                    let mut line = String::new();
                    loop {
                        let word = rng.pick(WORDS);
                        if line.chars().count() + word.chars().count() + 1 > 32 {
                            break;
                        }
                        if !line.is_empty() {
                            line.push(' ');
                        }
                        line.push_str(word);
                        if rng.below(4) == 0 {
                            break;
                        }
                    }
                    line
                })
                .collect();
            let start = t;
            // Long enough for the next cue to load while this one shows:
            // 608 carries about 60 characters a second.
            let end = start + 2_500_000_000 + rng.below(2_500) * 1_000_000;
            // A third of the cues follow the last with no gap.
            t = end + if rng.below(3) == 0 { 0 } else { 500_000_000 + rng.below(1_500) * 1_000_000 };
            Cue::new(start, end, text.join("\n"))
        })
        .collect()
}

/// The frame rate of the captioned test video, in mHz.
pub const RATE_MILLI: u32 = 29_970;

/// Runs ffmpeg in `dir`; fails the test if it fails.
pub fn ffmpeg(args: &[&str], dir: &Path) {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed (cargo xtask setup)");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Splits an Annex B stream into access units at its AUDs.
pub fn access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut units: Vec<Vec<u8>> = Vec::new();
    for nal in nal_units(stream) {
        if nal[0] & 0x1f == 9 || units.is_empty() {
            units.push(Vec::new());
        }
        let unit = units.last_mut().unwrap();
        unit.extend([0, 0, 0, 1]);
        unit.extend_from_slice(nal);
    }
    units
}

/// A transport stream of `frames` frames of 29.97 fps H.264 (a keyframe
/// every 30) whose SEI carry `cues` as CC1.
pub fn captioned_ts(dir: &Path, cues: &[Cue], frames: usize) -> Vec<u8> {
    let seconds = format!("{:.3}", frames as f64 * 1.001 / 30.0);
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=30000/1001",
            "-t",
            &seconds,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ]
        .into_iter()
        .chain(["-bf", "0", "-g", "30", "-x264-params", "aud=1", "-f", "h264", "raw.h264"])
        .collect::<Vec<_>>(),
        dir,
    );
    let units = access_units(&std::fs::read(dir.join("raw.h264")).unwrap());
    assert_eq!(units.len(), frames, "x264 made one access unit per frame");
    let rate = FrameRate::from_milli(RATE_MILLI).unwrap();
    let pairs = encode_cea608(cues, Channel608::Cc1, 0, rate).unwrap();
    assert!(pairs.len() <= frames, "the video is long enough for the captions");
    let mut stream = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        // One 608 pair per frame on field 1, padding after the last.
        let pair = pairs.get(i).copied().unwrap_or([0x80, 0x80]);
        stream.extend(insert_sei(unit, &a53_sei_nal(&[0xfc, pair[0], pair[1]])));
    }
    std::fs::write(dir.join("captioned.h264"), stream).unwrap();
    ffmpeg(
        &[
            "-f",
            "h264",
            "-framerate",
            "30000/1001",
            "-i",
            "captioned.h264",
            "-c",
            "copy",
            "-f",
            "mpegts",
            "captioned.ts",
        ],
        dir,
    );
    std::fs::read(dir.join("captioned.ts")).unwrap()
}

pub mod ebu;

/// A 2-second TS with H.264 (B-frames) and AAC, made by ffmpeg.
pub fn sample_ts(dir: &Path) -> Vec<u8> {
    lavfi_ts(dir, "testsrc", "sample.ts")
}

/// A 2-second TS of ffmpeg's lavfi `pattern` (`testsrc`, `testsrc2`, …) in
/// H.264 with B-frames and a 440 Hz tone in AAC, written to `dir/name`.
pub fn lavfi_ts(dir: &Path, pattern: &str, name: &str) -> Vec<u8> {
    lavfi_ts_for(dir, pattern, name, 2, None)
}

/// [`lavfi_ts`], `seconds` long, with a keyframe every `gop` frames when
/// given (x264's choice otherwise).
pub fn lavfi_ts_for(dir: &Path, pattern: &str, name: &str, seconds: u32, gop: Option<u32>) -> Vec<u8> {
    let video = format!("{pattern}=size=160x120:rate=25");
    let (seconds, gop) = (seconds.to_string(), gop.map(|g| g.to_string()));
    let mut args = vec!["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];
    args.extend(["-t", &seconds, "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2"]);
    if let Some(gop) = &gop {
        args.extend(["-g", gop]);
    }
    args.extend(["-c:a", "aac", "-f", "mpegts", name]);
    ffmpeg(&args, dir);
    std::fs::read(dir.join(name)).unwrap()
}

/// "Continuity check failed" lines in ffmpeg's debug log of reading `ts`
/// (written to `dir/name`).
pub fn ffmpeg_cc_failures(dir: &Path, name: &str, ts: &[u8]) -> usize {
    let file = dir.join(name);
    std::fs::write(&file, ts).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "debug", "-i"])
        .arg(&file)
        .args(["-map", "0", "-c", "copy", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).matches("Continuity check failed").count()
}

/// threefive's reading of each cue given as text, in hex (`0xFC…`, as
/// `EXT-X-DATERANGE` carries them) or base64 (as `EXT-X-CUE-OUT-CONT`
/// does): the bytes it decoded, and the splice command type.
pub fn threefive_decode(cues: &[&str]) -> Vec<(Vec<u8>, u8)> {
    let script = r#"
import sys, threefive
for h in sys.argv[1:]:
    cue = threefive.Cue(h)
    cue.decode()
    print("CUE", cue.bites.hex(), cue.info_section.splice_command_type)
"#;
    let out = Command::new(python()).arg("-c").arg(script).args(cues).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("CUE "))
        .map(|l| {
            let (h, command) = l.split_once(' ').unwrap();
            let bytes = (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect();
            (bytes, command.trim().parse().unwrap())
        })
        .collect()
}

/// The SCTE-35 sections threefive finds in `dir/name`, as bytes.
pub fn threefive_cues(dir: &Path, name: &str) -> Vec<Vec<u8>> {
    // One cue a line, in hex (threefive prints nothing else to stdout).
    let script = r#"
import sys, threefive
stream = threefive.Stream(sys.argv[1])
stream.decode(func=lambda cue: print("CUE", cue.bites.hex()))
"#;
    let out = Command::new(python()).arg("-c").arg(script).arg(dir.join(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("CUE "))
        .map(|h| (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect())
        .collect()
}

/// ffprobe's `entries` for stream `which` (`v:0`, `a:0`) of `file` in
/// `dir`, one line each (trailing commas trimmed). A transport stream's
/// streams are listed under its program too: `stream=` lines come once.
pub fn ffprobe_entries(dir: &Path, which: &str, entries: &str, file: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .current_dir(dir)
        .args(["-v", "error", "-select_streams", which, "-show_entries", entries, "-of", "csv=p=0", file])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {file}: {}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches(',').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if entries.starts_with("stream=") {
        lines.dedup();
    }
    lines
}
