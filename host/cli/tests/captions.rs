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
