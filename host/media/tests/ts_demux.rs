//! The transport stream demuxer against ffmpeg's muxer and ffprobe's
//! reading of the same file, and against damage.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::crc::crc32_mpeg2;
use stagebox_media::scte35::SpliceInfoSection;
use stagebox_media::ts::*;
use std::process::Command;
use support::{Rng, sample_ts};

/// ffprobe's (stream index, pid, codec) and per-stream packet PTS lists.
fn ffprobe(dir: &std::path::Path) -> (Vec<(u16, String)>, Vec<Vec<u64>>) {
    let out = Command::new("ffprobe")
        .current_dir(dir)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=index,id,codec_name:packet=stream_index,pts",
            "-of",
            "json",
            "sample.ts",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams: Vec<(u16, String)> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap().trim_start_matches("0x");
            (u16::from_str_radix(id, 16).unwrap(), s["codec_name"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut pts = vec![Vec::new(); streams.len()];
    for p in v["packets"].as_array().unwrap() {
        pts[p["stream_index"].as_u64().unwrap() as usize].push(p["pts"].as_u64().unwrap());
    }
    (streams, pts)
}

fn demux_all(bytes: &[u8], chunk: usize) -> (Vec<Event>, TsStats) {
    let mut d = Demuxer::new();
    let mut events: Vec<Event> = bytes.chunks(chunk).flat_map(|c| d.push(c)).collect();
    events.extend(d.finish());
    (events, d.stats())
}

fn pes_pts(events: &[Event], pid: u16) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Pes { pid: p, pes } if *p == pid => pes.pts,
            _ => None,
        })
        .collect()
}

#[test]
fn reads_what_ffmpeg_writes_as_ffprobe_does() {
    let dir = tempfile::tempdir().unwrap();
    let ts = sample_ts(dir.path());
    let (streams, probe_pts) = ffprobe(dir.path());
    // Chunks of odd sizes: packets cut anywhere must not matter.
    for chunk in [188, 1000, 7, ts.len()] {
        let (events, stats) = demux_all(&ts, chunk);
        assert_eq!((stats.resyncs, stats.continuity_errors, stats.malformed), (0, 0, 0), "{stats:?}");
        let pmt = events
            .iter()
            .find_map(|e| match e {
                Event::Pmt { pmt, .. } => Some(pmt.clone()),
                _ => None,
            })
            .unwrap();
        let ours: Vec<(u16, u8)> = pmt.streams.iter().map(|s| (s.pid, s.stream_type)).collect();
        let want: Vec<(u16, u8)> =
            streams.iter().map(|(pid, codec)| (*pid, if codec == "h264" { STREAM_TYPE_H264 } else { 0x0f })).collect();
        assert_eq!(ours, want);
        for ((pid, codec), pts) in streams.iter().zip(&probe_pts) {
            let got = pes_pts(&events, *pid);
            if codec == "h264" {
                assert_eq!(&got, pts, "video PES PTS, in decode order, as ffprobe reads them");
            } else {
                // ffmpeg puts several AAC frames in one PES; ffprobe lists frames.
                assert!(got.iter().all(|p| pts.contains(p)), "{got:?}");
                assert_eq!(got.first(), pts.first());
            }
        }
    }
}

#[test]
fn survives_damage_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let ts = sample_ts(dir.path());
    let (clean, _) = demux_all(&ts, 188);
    let video = pes_pts(&clean, 0x100);
    // Garbage between packets, a dropped packet, a packet with the
    // transport error flag, and a run of 0x47s.
    let mut damaged = Vec::new();
    let mut rng = Rng(47);
    for (i, p) in ts.chunks(188).enumerate() {
        match i {
            50 => damaged.extend(rng.bytes(77)),
            90 => continue,
            120 => {
                let mut p = p.to_vec();
                p[1] |= 0x80;
                damaged.extend(p);
                continue;
            }
            150 => damaged.extend([0x47; 300]),
            _ => {}
        }
        damaged.extend_from_slice(p);
    }
    let (events, stats) = demux_all(&damaged, 4096);
    assert!(stats.resyncs >= 2, "{stats:?}");
    assert_eq!(stats.transport_errors, 1, "{stats:?}");
    assert!(stats.continuity_errors >= 1, "{stats:?}");
    let got = pes_pts(&events, 0x100);
    assert!(got.len() + 4 >= video.len() && got.len() < video.len() + 2, "{} of {}", got.len(), video.len());
    assert_eq!(got.last(), video.last(), "the end of the stream is read after the damage");

    // Random bytes: nothing found, nothing panics.
    let (events, stats) = demux_all(&Rng(9).bytes(100_000), 333);
    assert!(events.is_empty());
    assert!(stats.packets as usize * 188 + stats.skipped_bytes as usize <= 100_000, "{stats:?}");
}

/// The packets carrying `section` on `pid` (pointer_field 0), counting
/// continuity from `cc`.
/// The packets `p` cuts `section` into, as bytes.
fn packetize(p: &mut SectionPacketizer, section: &[u8]) -> Vec<u8> {
    p.packets(section).concat()
}

fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg2(&section);
    section.extend(crc.to_be_bytes());
    section
}

/// The PAT and PMT of program 1 (PMT on 0x1000; H.264 on 0x100, SCTE-35
/// on 0x1f0), written by hand from ISO/IEC 13818-1 §2.4.4.
fn hand_made_tables() -> (Vec<u8>, Vec<u8>) {
    let pat = with_crc(vec![0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00]);
    let pmt = with_crc(vec![
        0x02, 0xb0, 0x17, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x86,
        0xe1, 0xf0, 0xf0, 0x00,
    ]);
    (pat, pmt)
}

/// The sections the demuxer handed out on `pid`.
fn sections_on(events: Vec<Event>, pid: u16) -> Vec<Vec<u8>> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Section { pid: p, section } if p == pid => Some(section),
            _ => None,
        })
        .collect()
}

fn spec_cues() -> Vec<Vec<u8>> {
    support::scte35_spec_examples()
        .iter()
        .map(|(_, b64)| SpliceInfoSection::from_text(b64).unwrap().to_bytes().unwrap())
        .collect()
}

#[test]
fn written_tables_are_the_hand_made_bytes() {
    let (pat, pmt) = hand_made_tables();
    assert_eq!(Pat { transport_stream_id: 1, version: 0, programs: vec![(1, 0x1000)] }.to_section(), pat);
    let streams = vec![
        PmtStream { stream_type: 0x1b, pid: 0x100, descriptors: vec![] },
        PmtStream { stream_type: 0x86, pid: 0x1f0, descriptors: vec![] },
    ];
    assert_eq!(Pmt { program: 1, version: 0, pcr_pid: 0x100, descriptors: vec![], streams }.to_section(), pmt);
}

#[test]
fn scte35_sections_come_out_whole_on_their_pid() {
    let (pat, pmt) = hand_made_tables();
    let mut ts = packetize(&mut SectionPacketizer::new(0, 0), &pat);
    ts.extend(packetize(&mut SectionPacketizer::new(0x1000, 0), &pmt));
    let cues = spec_cues();
    let mut scte35 = SectionPacketizer::new(0x1f0, 0);
    for cue in &cues {
        ts.extend(packetize(&mut scte35, cue));
    }
    let (events, stats) = demux_all(&ts, 188);
    let sections = sections_on(events, 0x1f0);
    assert_eq!(sections, cues);
    assert_eq!(stats.malformed, 0);
}

/// A stream the writer made from scratch (PAT, PMT, SDT, and the SCTE-35
/// examples on their PID) is read by ffprobe (program, service names,
/// stream) and by threefive (every cue, bit-identical).
#[test]
fn written_streams_are_read_by_ffprobe_and_threefive() {
    let pat = Pat { transport_stream_id: 7, version: 0, programs: vec![(1, 0x1000)] };
    // No PCR (0x1FFF): a data-only program. The CUEI registration
    // descriptor marks the SCTE-35 PID as SCTE 35 §8.1 asks.
    let pmt = Pmt {
        program: 1,
        version: 0,
        pcr_pid: 0x1fff,
        descriptors: vec![0x05, 0x04, b'C', b'U', b'E', b'I'],
        streams: vec![PmtStream { stream_type: 0x86, pid: 0x1f0, descriptors: vec![] }],
    };
    let sdt = Sdt {
        transport_stream_id: 7,
        original_network_id: 0xff01,
        version: 0,
        services: vec![SdtService {
            service_id: 1,
            service_type: 1,
            provider: "Stagebox".into(),
            name: "Studio A".into(),
        }],
    };
    let (mut p0, mut p1, mut p2, mut p3) = (
        SectionPacketizer::new(0, 0),
        SectionPacketizer::new(0x1000, 0),
        SectionPacketizer::new(SDT_PID, 0),
        SectionPacketizer::new(0x1f0, 0),
    );
    let cues = spec_cues();
    let mut ts = Vec::new();
    // Tables first and again halfway, as a muxer repeats them.
    for half in cues.chunks(cues.len().div_ceil(2)) {
        ts.extend(packetize(&mut p0, &pat.to_section()));
        ts.extend(packetize(&mut p1, &pmt.to_section()));
        ts.extend(packetize(&mut p2, &sdt.to_section()));
        for cue in half {
            ts.extend(packetize(&mut p3, cue));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("written.ts");
    std::fs::write(&file, &ts).unwrap();

    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_programs", "-of", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let probe: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let program = &probe["programs"][0];
    assert_eq!(program["program_id"], 1, "{probe}");
    assert_eq!(
        (program["tags"]["service_name"].as_str(), program["tags"]["service_provider"].as_str()),
        (Some("Studio A"), Some("Stagebox")),
        "{probe}"
    );
    assert_eq!(program["streams"][0]["codec_name"], "scte_35", "{probe}");
    assert_eq!(program["streams"][0]["id"], "0x1f0", "{probe}");

    assert_eq!(support::threefive_cues(dir.path(), "written.ts"), cues);

    // And our own demuxer reads back what it wrote.
    let (events, stats) = demux_all(&ts, 188);
    assert_eq!(stats.malformed, 0);
    let sections = sections_on(events, 0x1f0);
    assert_eq!(sections, cues);
}

/// A failover splices two sources: cut mid-stream from one ffmpeg stream
/// to another, the raw splice makes ffmpeg report continuity failures; the
/// same splice through a `Restamper` (told of the switch) makes none, and
/// the PCR PID's first adaptation field after it says discontinuity.
#[test]
fn a_restamped_splice_has_no_continuity_failures() {
    let dir = tempfile::tempdir().unwrap();
    let primary = sample_ts(dir.path());
    let backup = support::lavfi_ts(dir.path(), "testsrc2", "backup.ts");
    let (a, b) = (primary.len() / PACKET_SIZE, backup.len() / PACKET_SIZE);
    // The primary's first half, then the backup from a third of the way in.
    let first: Vec<[u8; PACKET_SIZE]> =
        primary.chunks_exact(PACKET_SIZE).take(a / 2).map(|p| p.try_into().unwrap()).collect();
    let second: Vec<[u8; PACKET_SIZE]> =
        backup.chunks_exact(PACKET_SIZE).skip(b / 3).map(|p| p.try_into().unwrap()).collect();
    let raw: Vec<u8> = first.iter().chain(&second).flatten().copied().collect();
    assert!(support::ffmpeg_cc_failures(dir.path(), "raw.ts", &raw) > 0, "the raw splice must show the problem");

    let mut restamper = Restamper::new();
    let mut out = Vec::new();
    for p in &first {
        let mut p = *p;
        restamper.restamp(&mut p);
        out.push(p);
    }
    restamper.switch();
    for p in &second {
        let mut p = *p;
        restamper.restamp(&mut p);
        out.push(p);
    }
    let spliced: Vec<u8> = out.iter().flatten().copied().collect();
    assert_eq!(support::ffmpeg_cc_failures(dir.path(), "spliced.ts", &spliced), 0);
    let mut demux = Demuxer::new();
    demux.push(&spliced);
    demux.finish();
    assert_eq!(demux.stats().continuity_errors, 0);
    // The first packet after the switch that carries a PCR is flagged.
    let first_pcr = out[first.len()..]
        .iter()
        .map(|p| Packet::parse(p).unwrap())
        .find(|p| p.adaptation.is_some_and(|a| a.pcr.is_some()))
        .unwrap();
    assert!(first_pcr.adaptation.unwrap().discontinuity);
}
