//! The flow encoder against ffmpeg: 3 s of v210 colour bars at 25 fps and
//! a 1 kHz stereo tone at 48 kHz, stamped on a TAI clock that starts
//! between two seconds, into a transport stream that ffprobe and ffmpeg
//! read: H.264 and AAC, every picture, keyframes on whole TAI seconds,
//! timestamps from the grains, the bars' levels and the tone's pitch
//! after decoding, and a clean decode.

#![allow(clippy::unwrap_used)] // a test fails by panicking

#[path = "../../media/tests/support/mod.rs"]
mod support;

use stagebox_codec::encode::{AUDIO_PID, VIDEO_PID};
use stagebox_codec::{AudioConfig, Encoder, EncoderConfig};
use stagebox_flow::pattern::{v210_bars, v210_mark_line};
use stagebox_flow::{Rational, index_to_timestamp, timestamp_to_index};
use stagebox_media::ts::ns_to_ticks;

const W: u32 = 320;
const H: u32 = 180;
/// 2023-11-14 22:13:20.300 TAI: 0.3 s past a whole second.
const START_NS: u64 = 1_700_000_000_300_000_000;

fn config(audio: bool) -> EncoderConfig {
    EncoderConfig {
        width: W,
        height: H,
        rate: (25, 1),
        video_bitrate: 600_000,
        keyframe_s: 1.0,
        preset: "veryfast".into(),
        audio: audio.then_some(AudioConfig { rate: 48_000, channels: 2, bitrate: 128_000 }),
    }
}

/// `seconds` of pictures and tone through `encoder`, fed as a pipeline
/// would: a picture, then the audio up to the next picture's time.
fn run(encoder: &mut Encoder, seconds: u64, with_audio: bool) -> (Vec<u8>, Vec<u64>) {
    let rate = Rational::new(25, 1).unwrap();
    let audio_rate = Rational::new(48_000, 1).unwrap();
    let first = timestamp_to_index(START_NS, rate);
    let mut ts = Vec::new();
    let mut times = Vec::new();
    let mut sample = timestamp_to_index(index_to_timestamp(first, rate), audio_rate);
    for i in 0..seconds * 25 {
        let tai = index_to_timestamp(first + i, rate);
        let mut picture = v210_bars(W, H);
        v210_mark_line(&mut picture, W, (i % u64::from(H)) as u32);
        encoder.video(&picture, tai).unwrap();
        times.push(tai);
        if with_audio {
            let until = timestamp_to_index(index_to_timestamp(first + i + 1, rate), audio_rate);
            let tone: Vec<f32> = (sample..until)
                .map(|n| (0.25 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 48_000.0).sin()) as f32)
                .collect();
            encoder.audio(sample, &[&tone, &tone]).unwrap();
            sample = until;
        }
        ts.extend(encoder.take());
    }
    ts.extend(encoder.finish().unwrap());
    (ts, times)
}

#[test]
fn ffmpeg_reads_pictures_keyframes_levels_and_tone() {
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = Encoder::new(config(true)).unwrap();
    let (ts, times) = run(&mut encoder, 3, true);
    assert_eq!(encoder.pictures(), 75);
    assert!(ts.len().is_multiple_of(188));
    std::fs::write(dir.path().join("out.ts"), &ts).unwrap();

    let streams = support::ffprobe_entries(dir.path(), "v:0", "stream=codec_name,width,height,id", "out.ts");
    assert_eq!(streams, vec![format!("h264,{W},{H},{VIDEO_PID:#x}")]);
    let streams = support::ffprobe_entries(dir.path(), "a:0", "stream=codec_name,sample_rate,channels,id", "out.ts");
    assert_eq!(streams, vec![format!("aac,48000,2,{AUDIO_PID:#x}")]);

    // Every picture, each at its grain's TAI time; keyframes at the first
    // and at the first picture of each whole TAI second.
    let frames: Vec<(u64, bool)> = support::ffprobe_entries(dir.path(), "v:0", "frame=key_frame,pts", "out.ts")
        .iter()
        .map(|l| {
            let (key, pts) = l.split_once(',').unwrap();
            (pts.parse().unwrap(), key == "1")
        })
        .collect();
    let expected: Vec<u64> = times.iter().map(|t| ns_to_ticks(*t) % (1 << 33)).collect();
    assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), expected, "every picture at its TAI time");
    let keys: Vec<usize> = frames.iter().enumerate().filter(|(_, f)| f.1).map(|(i, _)| i).collect();
    let seconds: Vec<usize> =
        (0..times.len()).filter(|&i| i == 0 || times[i] / 1_000_000_000 != times[i - 1] / 1_000_000_000).collect();
    assert_eq!(keys, seconds, "keyframes on the TAI grid");
    // The first grain of the 25 fps grid at or after 0.3 s is at 0.32 s.
    assert_eq!(seconds, vec![0, 17, 42, 67], "whole seconds at pictures 17, 42, 67");

    // The audio starts with the video, on the sample clock: its first AAC
    // frame 1024 samples (1920 ticks) before, the encoder's priming, as
    // FFmpeg's own AAC in MPEG-TS does.
    let audio: Vec<u64> = support::ffprobe_entries(dir.path(), "a:0", "packet=pts", "out.ts")
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(audio.len() >= 138, "{} AAC frames for 3 s", audio.len());
    assert!((audio[0] + 1920).abs_diff(expected[0]) <= 1, "audio from {} and video from {}", audio[0], expected[0]);

    // Decoded: the bars' levels (white, then blue at the right) and the
    // tone's pitch by its zero crossings.
    support::ffmpeg(
        &["-i", "out.ts", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "luma.raw"],
        dir.path(),
    );
    // Y' is the first plane, narrow range as encoded.
    let luma = std::fs::read(dir.path().join("luma.raw")).unwrap();
    let at = |x: usize| luma[(H as usize / 2) * W as usize + x];
    assert!(at(10).abs_diff(180) <= 4, "white bar: {}", at(10));
    assert!(at(W as usize - 10).abs_diff(28) <= 4, "blue bar: {}", at(W as usize - 10));
    support::ffmpeg(&["-i", "out.ts", "-vn", "-f", "f32le", "-ac", "1", "tone.raw"], dir.path());
    let tone: Vec<f32> = std::fs::read(dir.path().join("tone.raw"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let middle = &tone[48_000..96_000];
    let crossings = middle.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    assert!((995..=1005).contains(&crossings), "a 1 kHz tone: {crossings} rising crossings in 1 s");
    let out = std::process::Command::new("ffmpeg")
        .current_dir(dir.path())
        .args(["-v", "error", "-xerror", "-i", "out.ts", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let mut encoder = Encoder::new(config(false)).unwrap();
    let err = encoder.video(&[0u8; 100], START_NS).unwrap_err().to_string();
    assert!(err.contains("v210 frame of 100 bytes"), "{err}");
    let err = encoder.audio(0, &[&[0.0]]).unwrap_err().to_string();
    assert!(err.contains("no audio"), "{err}");
    assert!(Encoder::new(EncoderConfig { rate: (0, 1), ..config(false) }).is_err());
    let mut encoder = Encoder::new(config(true)).unwrap();
    let err = encoder.audio(0, &[&[0.0]]).unwrap_err().to_string();
    assert!(err.contains("1 channels of samples; the encoding has 2"), "{err}");
    encoder.audio(10, &[&[0.0; 4], &[0.0; 4]]).unwrap();
    let err = encoder.audio(12, &[&[0.0; 4], &[0.0; 4]]).unwrap_err().to_string();
    assert!(err.contains("again"), "{err}");
    // Nothing lost to the refusals: the encoder goes on.
    let mut picture = v210_bars(W, H);
    v210_mark_line(&mut picture, W, 3);
    encoder.video(&picture, START_NS).unwrap();
    assert_eq!(encoder.pictures(), 1);
}
