//! The transport stream demuxer against ffmpeg's muxer and ffprobe's
//! reading of the same file, and against damage.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::crc::crc32_mpeg2;
use stagebox_media::scte35::SpliceInfoSection;
use stagebox_media::ts::*;
use std::process::Command;
use support::{Rng, ffmpeg};

/// A 2-second TS with H.264 (B-frames) and AAC, made by ffmpeg.
fn sample_ts(dir: &std::path::Path) -> Vec<u8> {
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "2",
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            "sample.ts",
        ],
        dir,
    );
    std::fs::read(dir.join("sample.ts")).unwrap()
}

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
fn packetize(pid: u16, cc: &mut u8, section: &[u8]) -> Vec<u8> {
    let mut data = vec![0u8];
    data.extend_from_slice(section);
    let mut out = Vec::new();
    for (i, chunk) in data.chunks(184).enumerate() {
        let mut p = vec![0x47, (if i == 0 { 0x40 } else { 0 }) | (pid >> 8) as u8, pid as u8, 0x10 | *cc];
        *cc = (*cc + 1) % 16;
        p.extend_from_slice(chunk);
        p.resize(188, 0xff);
        out.extend(p);
    }
    out
}

fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg2(&section);
    section.extend(crc.to_be_bytes());
    section
}

#[test]
fn scte35_sections_come_out_whole_on_their_pid() {
    let pat = with_crc(vec![0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00]);
    let pmt = with_crc(vec![
        0x02, 0xb0, 0x17, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x86,
        0xe1, 0xf0, 0xf0, 0x00,
    ]);
    let (mut c0, mut c1, mut c2) = (0, 0, 0);
    let mut ts = packetize(0, &mut c0, &pat);
    ts.extend(packetize(0x1000, &mut c1, &pmt));
    let cues: Vec<Vec<u8>> = support::scte35_spec_examples()
        .iter()
        .map(|(_, b64)| SpliceInfoSection::from_text(b64).unwrap().to_bytes().unwrap())
        .collect();
    for cue in &cues {
        ts.extend(packetize(0x1f0, &mut c2, cue));
    }
    let (events, stats) = demux_all(&ts, 188);
    let sections: Vec<Vec<u8>> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Section { pid: 0x1f0, section } => Some(section),
            _ => None,
        })
        .collect();
    assert_eq!(sections, cues);
    assert_eq!(stats.malformed, 0);
}
