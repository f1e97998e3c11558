//! Distributor channels in the real daemon, through the API: checked with
//! errors that name the field, run with a per-output SCTE-35 plugin (the
//! bundled one), status and decisions on the event stream, outputs added
//! and removed live, kept across kill -9, stopped and deleted. The media
//! side (ffmpeg, threefive, libsrt) is `host/io/tests/distributor.rs`.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Appliance, eventually};
use serde_json::{Value, json};
use stagebox_media::rtp::{PT_MP2T, RtpHeader, write};
use stagebox_media::scte35::SpliceInfoSection;
use stagebox_media::ts::{Demuxer, Event, NULL_PID, Pat, Pmt, PmtStream, SectionPacketizer};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// SCTE 35 2023 §14.2 (splice_insert) and §14.1 (time_signal).
const CUES: [&str; 2] = [
    "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=",
    "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==",
];

/// A transport stream of `datagrams` × 7 packets: PAT and PMT (SCTE-35 on
/// 0x1f0) at the start of every 10th datagram, a cue every 25th, null
/// packets between.
fn stream(datagrams: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let pat = Pat { transport_stream_id: 1, version: 0, programs: vec![(1, 0x1000)] }.to_section();
    let pmt = Pmt {
        program: 1,
        version: 0,
        pcr_pid: 0x1fff,
        descriptors: vec![0x05, 0x04, b'C', b'U', b'E', b'I'],
        streams: vec![PmtStream { stream_type: 0x86, pid: 0x1f0, descriptors: vec![] }],
    }
    .to_section();
    let cues: Vec<Vec<u8>> =
        CUES.iter().map(|c| SpliceInfoSection::from_text(c).unwrap().to_bytes().unwrap()).collect();
    let (mut p0, mut p1, mut p2) =
        (SectionPacketizer::new(0, 0), SectionPacketizer::new(0x1000, 0), SectionPacketizer::new(0x1f0, 0));
    let mut null = [0xffu8; 188];
    null[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
    let mut ts = Vec::new();
    let mut sent = Vec::new();
    for i in 0..datagrams {
        let mut packets = Vec::new();
        if i % 10 == 0 {
            packets.extend(p0.packets(&pat));
            packets.extend(p1.packets(&pmt));
        }
        if i % 25 == 5 {
            let cue = &cues[sent.len() % cues.len()];
            packets.extend(p2.packets(cue));
            sent.push(cue.clone());
        }
        packets.resize(7, null);
        ts.extend(packets.concat());
    }
    assert_eq!(u16::from_be_bytes([null[1], null[2]]) & 0x1fff, NULL_PID);
    (ts, sent)
}

/// Sends `ts` as RTP to `port`, a datagram a millisecond (3 s for the
/// 3000 the test sends: long enough for the live changes to happen while
/// it flows).
fn send(ts: &[u8], port: u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    for (i, chunk) in ts.chunks(7 * 188).enumerate() {
        if let Some(wait) = (start + Duration::from_millis(i as u64)).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let header = RtpHeader { marker: false, payload_type: PT_MP2T, sequence: i as u16, timestamp: 0, ssrc: 1 };
        socket.send_to(&write(&header, chunk), ("127.0.0.1", port)).unwrap();
    }
}

/// A socket capturing on a thread until 1 s passes with nothing.
fn capture() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        socket.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        // Until a second of silence after something arrived (or 30 s).
        while start.elapsed() < Duration::from_secs(30) {
            match socket.recv(&mut buf) {
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) if !out.is_empty() => break,
                Err(_) => {}
            }
        }
        out
    });
    (port, handle)
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The SCTE-35 sections in `ts`, and its continuity errors.
fn cues_in(ts: &[u8]) -> (Vec<Vec<u8>>, u64) {
    let mut demux = Demuxer::new();
    let mut events = demux.push(ts);
    events.extend(demux.finish());
    let sections = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Section { pid: 0x1f0, section } => Some(section),
            _ => None,
        })
        .collect();
    (sections, demux.stats().continuity_errors)
}

fn status_of<'a>(channel: &'a Value, output: &str) -> &'a Value {
    channel["status"]["outputs"].as_array().unwrap().iter().find(|o| o["id"] == output).unwrap()
}

#[test]
fn channels_are_checked_run_changed_and_kept() {
    let b = Appliance::new(&[]);
    // Checked whole, errors naming the field.
    let (status, e) = b.call("POST", "/api/v1/channels", Some(json!({ "name": "x", "inputs": ["srt://127.0.0.1:9"] })));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("inputs[0]: srt:// cannot be used as an input"), "{e}");
    let (status, e) = b.call("POST", "/api/v1/channels", Some(json!({ "name": "x", "inputs": [], "typo": 1 })));
    assert_eq!(status, 400, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("typo"), "{e}");
    let bad_plugin = json!({ "name": "x", "inputs": ["rtp://127.0.0.1:9"],
        "outputs": [{ "id": "o", "url": "udp://127.0.0.1:9", "scte35": { "plugin": "nope" } }] });
    let (status, e) = b.call("POST", "/api/v1/channels", Some(bad_plugin));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("outputs[0].scte35.plugin"), "{e}");

    // A channel: all cues on "plain", none on "dropped" (the bundled
    // SCTE-35 plugin told to drop everything).
    let input = free_port();
    let (plain_port, plain) = capture();
    let (dropped_port, dropped) = capture();
    let spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "failover": { "detect_ms": 200 },
        "outputs": [
            { "id": "plain", "url": format!("udp://127.0.0.1:{plain_port}") },
            { "id": "dropped", "url": format!("udp://127.0.0.1:{dropped_port}"),
              "scte35": { "plugin": "scte35", "config": { "default": "drop" } } },
        ],
    });
    let made = b.ok("POST", "/api/v1/channels", Some(spec.clone()));
    assert_eq!((made["running"].as_bool(), made["autostart"].as_bool()), (Some(false), Some(false)));
    let (status, _) = b.call("POST", "/api/v1/channels", Some(spec));
    assert_eq!(status, 409);
    let mut events = b.events();
    let started = b.ok("POST", "/api/v1/channels/news/start", None);
    assert_eq!(started["running"], true);
    events.wait("channel.started", Duration::from_secs(5), |e| e["channel"] == "news");

    let (ts, cues) = stream(3000);
    let sender = std::thread::spawn(move || send(&ts, input));
    let receiving = events.wait("channel.status", Duration::from_secs(10), |e| {
        e["channel"] == "news" && e["data"]["inputs"][0]["state"] == "receiving"
    });
    assert!(receiving["data"]["inputs"][0]["bitrate_bps"].as_u64().unwrap() > 0, "{receiving}");
    let decision = events.wait("scte35.decision", Duration::from_secs(10), |e| e["channel"] == "news");
    assert_eq!(
        (decision["data"]["output"].as_str(), decision["data"]["decision"].as_str()),
        (Some("dropped"), Some("drop"))
    );

    // An output added and removed while it runs.
    let (late_port, late) = capture();
    let (status, added) = b.call(
        "POST",
        "/api/v1/channels/news/outputs",
        Some(json!({ "id": "late", "url": format!("rtp://127.0.0.1:{late_port}") })),
    );
    assert_eq!(status, 201, "{added}");
    events.wait("channel.output_added", Duration::from_secs(5), |e| e["data"]["output"] == "late");
    let (status, _) =
        b.call("POST", "/api/v1/channels/news/outputs", Some(json!({ "id": "late", "url": "udp://127.0.0.1:9" })));
    assert_eq!(status, 409);
    std::thread::sleep(Duration::from_millis(200));
    let (status, _) = b.call("DELETE", "/api/v1/channels/news/outputs/late", None);
    assert_eq!(status, 204);
    let (status, _) = b.call("DELETE", "/api/v1/channels/news/outputs/late", None);
    assert_eq!(status, 404);
    let (status, e) = b.call("POST", "/api/v1/channels/news/select", Some(json!({ "input": "backup" })));
    assert_eq!(status, 422, "{e}");

    sender.join().unwrap();
    let (plain, dropped, late) = (plain.join().unwrap(), dropped.join().unwrap(), late.join().unwrap());
    let (plain_cues, plain_cc) = cues_in(&plain);
    assert_eq!((plain_cues, plain_cc), (cues.clone(), 0), "every cue, bit for bit, on the plain output");
    let (dropped_cues, dropped_cc) = cues_in(&dropped);
    assert_eq!((dropped_cues.len(), dropped_cc), (0, 0), "no cue, and no continuity error, where the plugin drops");
    assert!(!late.is_empty(), "the late output received while it existed");
    let channel = b.ok("GET", "/api/v1/channels/news", None);
    assert_eq!(status_of(&channel, "plain")["packets"].as_u64(), Some(21_000), "{channel}");
    assert_eq!(channel["status"]["scte35"]["cues"].as_u64(), Some(cues.len() as u64), "{channel}");
    assert_eq!(channel["spec"]["outputs"].as_array().unwrap().len(), 2);

    // Kept across kill -9: it runs again.
    let Appliance { _dir: dir, state, daemon, .. } = b;
    daemon.kill9();
    let b = Appliance::on(dir, state, &[]);
    let kept = eventually(Duration::from_secs(10), "the channel running again", || {
        let c = b.ok("GET", "/api/v1/channels/news", None);
        (c["running"] == true).then_some(c)
    });
    assert_eq!(kept["spec"]["outputs"][1]["scte35"]["plugin"], "scte35");
    let stopped = b.ok("POST", "/api/v1/channels/news/stop", None);
    assert_eq!((stopped["running"].as_bool(), stopped["autostart"].as_bool()), (Some(false), Some(false)));
    let (status, _) = b.call("DELETE", "/api/v1/channels/news", None);
    assert_eq!(status, 204);
    assert_eq!(b.ok("GET", "/api/v1/channels", None)["channels"], json!([]));
}
