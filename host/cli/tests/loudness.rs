//! `stagebox loudness`, run as a user would, against ffmpeg's own EBU R 128
//! meter (the `ebur128` filter) on the same files.

#![allow(clippy::unwrap_used)] // a test fails by panicking

#[path = "../../media/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

fn stagebox(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stagebox")).args(args).output().unwrap()
}

/// Writes interleaved samples as a 24-bit PCM WAV.
fn write_wav(path: &Path, rate: u32, channels: u16, interleaved: &[f32]) {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 24, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in interleaved {
        w.write_sample((f64::from(*s) * 8_388_607.0).round() as i32).unwrap();
    }
    w.finalize().unwrap();
}

/// ffmpeg's summary figures: (I LUFS, LRA LU, true peak dBTP).
fn ffmpeg_ebur128(path: &Path) -> (f64, f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-filter_complex", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed by `cargo xtask setup`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = &log[log.rfind("Summary:").unwrap()..];
    let value = |label: &str| -> f64 {
        let line = summary.lines().map(str::trim).find(|l| l.starts_with(label)).unwrap();
        line[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (value("I:"), value("LRA:"), value("Peak:"))
}

fn ours(path: &Path) -> serde_json::Value {
    let out = stagebox(&["loudness".as_ref(), path.as_os_str(), "--json".as_ref()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn agree(name: &str, path: &Path) {
    let (i, lra, tp) = ffmpeg_ebur128(path);
    let v = ours(path);
    let (our_i, our_lra, our_tp) = (
        v["integrated_lufs"].as_f64().unwrap(),
        v["loudness_range_lu"].as_f64().unwrap(),
        v["true_peak_dbtp"].as_f64().unwrap(),
    );
    eprintln!("{name}: ffmpeg I {i} LRA {lra} TP {tp}; ours I {our_i:.2} LRA {our_lra:.2} TP {our_tp:.2}");
    // ffmpeg prints one decimal: agreement to its rounding plus 0.1 LU.
    assert!((our_i - i).abs() <= 0.15, "{name}: integrated {our_i} vs ffmpeg {i}");
    assert!((our_lra - lra).abs() <= 0.5, "{name}: range {our_lra} vs ffmpeg {lra}");
    assert!((our_tp - tp).abs() <= 0.3, "{name}: true peak {our_tp} vs ffmpeg {tp}");
}

#[test]
fn figures_agree_with_ffmpegs_ebur128_filter() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = dir.path().join("programme.wav");
    write_wav(&stereo, 48_000, 2, &support::programme(48_000, 2, 60.0));
    agree("stereo programme", &stereo);
    let surround = dir.path().join("programme-5.1.wav");
    write_wav(&surround, 48_000, 6, &support::programme(48_000, 6, 30.0));
    agree("5.1 programme", &surround);
    let case = support::ebu::cases().into_iter().find(|c| c.name == "3342-4").unwrap();
    let steps = dir.path().join("3342-4.wav");
    write_wav(&steps, case.rate, 2, &case.interleaved());
    agree("EBU 3342-4", &steps);
    assert!((ours(&steps)["loudness_range_lu"].as_f64().unwrap() - 15.0).abs() <= 1.0);
}

#[test]
fn the_table_names_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let case = support::ebu::cases().into_iter().find(|c| c.name == "3341-1").unwrap();
    write_wav(&path, case.rate, 2, &case.interleaved());
    let out = stagebox(&["loudness".as_ref(), path.as_os_str()]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    for (label, value, unit) in [
        ("Integrated loudness", -23.0, "LUFS"),
        ("Loudness range", 0.0, "LU"),
        ("True peak", -23.0, "dBTP"),
        ("Max momentary", -23.0, "LUFS"),
        ("Max short-term", -23.0, "LUFS"),
    ] {
        let rest = &table[table.find(label).unwrap_or_else(|| panic!("{label} missing: {table}")) + label.len()..];
        let mut words = rest.split_whitespace();
        let shown: f64 = words.next().unwrap().parse().unwrap();
        // EBU tolerance ±0.1, plus the table's rounding to one decimal.
        assert!((shown - value).abs() <= 0.15, "{label} {shown}, want {value}: {table}");
        assert_eq!(words.next(), Some(unit), "{table}");
    }
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    for (path, message) in [(text.as_path(), "not a readable WAV file"), (Path::new("/nonexistent.wav"), "nonexistent")]
    {
        let out = stagebox(&["loudness".as_ref(), path.as_os_str()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
    }
}
