//! `stagebox scte35 decode|encode`, run as a user would.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

const INSERT: &str = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=";

fn stagebox(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagebox"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn decode_then_encode_gives_the_cue_back() {
    let out = stagebox(&["scte35", "decode", INSERT], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json = String::from_utf8(out.stdout).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["payload"]["command"]["command"], "splice_insert");
    assert_eq!(value["payload"]["command"]["splice_event_id"], 0x4800_008F_u32);
    assert_eq!(value["payload"]["descriptors"][0]["provider_avail_id"], 0x135);
    let out = stagebox(&["scte35", "encode", "-"], Some(&json));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), INSERT);
    // Hex in, hex out.
    let out = stagebox(&["scte35", "encode", "--hex", &json], None);
    let hex = String::from_utf8(out.stdout).unwrap();
    let again = stagebox(&["scte35", "decode", hex.trim()], None);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), json);
}

#[test]
fn bad_input_is_a_clear_error_and_a_failure() {
    let cases: &[(&[&str], &str)] = &[
        (&["scte35", "decode", "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowQ="], "CRC_32"),
        (&["scte35", "decode", "not a cue"], "base64 or hex"),
        (&["scte35", "decode", "0xfc30"], "section ends inside"),
        (&["scte35", "encode", "{\"sap_type\": 3}"], "missing field"),
        (&["scte35", "encode", "not json"], "reading the cue's JSON"),
    ];
    for (args, expected) in cases {
        let out = stagebox(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
}
