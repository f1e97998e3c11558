//! `stagebox captions convert`, run as a user would.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::process::{Command, Output};

fn stagebox(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stagebox")).args(args).output().unwrap()
}

#[test]
fn srt_to_scc_to_webvtt_keeps_the_cues() {
    let dir = tempfile::tempdir().unwrap();
    let (srt, scc, vtt) = (dir.path().join("in.srt"), dir.path().join("mid.scc"), dir.path().join("out.vtt"));
    std::fs::write(&srt, "1\n00:00:01,000 --> 00:00:03,000\nHello\n\n2\n00:00:04,000 --> 00:00:06,000\nTwo\nlines\n")
        .unwrap();
    for (from, to) in [(&srt, &scc), (&scc, &vtt)] {
        let out = stagebox(&["captions".as_ref(), "convert".as_ref(), from.as_os_str(), to.as_os_str()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let scc_text = std::fs::read_to_string(&scc).unwrap();
    assert!(scc_text.starts_with("Scenarist_SCC V1.0"));
    let vtt_text = std::fs::read_to_string(&vtt).unwrap();
    assert!(vtt_text.starts_with("WEBVTT"), "{vtt_text}");
    // Times come back to the frame (29.97 fps), so to the millisecond here.
    assert!(vtt_text.contains("00:00:01.001 --> 00:00:03.003"), "{vtt_text}");
    assert!(vtt_text.contains("Two\nlines"), "{vtt_text}");
}

#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.srt");
    let out_path = dir.path().join("out.vtt");
    std::fs::write(&bad, "1\n00:00:01,000 --> 00:00:0x,000\nHello\n").unwrap();
    let out = stagebox(&["captions".as_ref(), "convert".as_ref(), bad.as_os_str(), out_path.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SRT line 2: bad end time"), "{err}");
    assert!(!out_path.exists(), "nothing is written on error");

    let out = stagebox(&["captions".as_ref(), "convert".as_ref(), bad.as_os_str(), "out.txt".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown caption format"));
}

#[path = "../../media/tests/support/mod.rs"]
mod support;

#[test]
fn extract_takes_608_from_h264_sei_in_a_transport_stream() {
    let dir = tempfile::tempdir().unwrap();
    let cues = vec![
        stagebox_media::captions::Cue::new(1_001_000_000, 3_003_000_000, "From the\nvideo"),
        stagebox_media::captions::Cue::new(4_004_000_000, 5_005_000_000, "Second"),
    ];
    support::captioned_ts(dir.path(), &cues, 180);
    let (ts, vtt) = (dir.path().join("captioned.ts"), dir.path().join("out.vtt"));
    let out = stagebox(&["captions".as_ref(), "extract".as_ref(), ts.as_os_str(), vtt.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 cues (cc1) from 180 frames"));
    let text = std::fs::read_to_string(&vtt).unwrap();
    // Times from the first frame; the 608 position (bottom rows) kept.
    assert!(text.contains("00:00:01.001 --> 00:00:03.003 line:13 position:10% align:start\nFrom the\nvideo"), "{text}");
    assert!(text.contains("00:00:04.004 --> 00:00:05.005 line:14 position:10% align:start\nSecond"), "{text}");
    // CC3 carries nothing here: no cues, and no error.
    let srt = dir.path().join("cc3.srt");
    let out = stagebox(&[
        "captions".as_ref(),
        "extract".as_ref(),
        ts.as_os_str(),
        srt.as_os_str(),
        "--source".as_ref(),
        "cc3".as_ref(),
    ]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&srt).unwrap().trim(), "");
}

#[test]
fn extract_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.ts");
    std::fs::write(&junk, vec![0x47u8; 188 * 10]).unwrap();
    let vtt = dir.path().join("out.vtt");
    for (args, message) in [
        (vec![junk.as_os_str(), vtt.as_os_str()], "no H.264 video stream"),
        (vec![junk.as_os_str(), vtt.as_os_str(), "--source".as_ref(), "cc7".as_ref()], "use cc1 to cc4"),
        (vec![junk.as_os_str(), "out.scc".as_ref()], "extract writes WebVTT or SRT"),
        (vec!["/nonexistent.ts".as_ref(), vtt.as_os_str()], "reading /nonexistent.ts"),
    ] {
        let mut all: Vec<&std::ffi::OsStr> = vec!["captions".as_ref(), "extract".as_ref()];
        all.extend(args);
        let out = stagebox(&all);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{message}: {err}");
    }
    assert!(!vtt.exists(), "nothing is written on error");
}
