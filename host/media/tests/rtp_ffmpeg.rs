//! RTP against ffmpeg: a transport stream that ffmpeg sends as RTP (MP2T,
//! payload type 33) over loopback, shuffled, partly duplicated and put
//! back in order by [`Reorder`], comes out as the stream sent: the same
//! packets in order, no continuity errors, and what ffprobe reads in the
//! source.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::rtp::{PT_MP2T, Reorder, parse};
use stagebox_media::ts::{Demuxer, Event, STREAM_TYPE_H264};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Rng, sample_ts};

#[test]
fn ffmpegs_rtp_survives_shuffling_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("src.ts"), sample_ts(dir.path())).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let port = socket.local_addr().unwrap().port();
    // Paced at twice real time so loopback never overflows the socket.
    let mut sender = Command::new("ffmpeg")
        .current_dir(dir.path())
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-readrate",
            "2",
            "-i",
            "src.ts",
            "-c",
            "copy",
            "-f",
            "rtp_mpegts",
        ])
        .arg(format!("rtp://127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut datagrams = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 2048];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => datagrams.push(buf[..n].to_vec()),
            // Quiet for 500 ms: done once ffmpeg has exited.
            Err(_) if sender.try_wait().unwrap().is_some() => break,
            Err(_) => {}
        }
        assert!(Instant::now() < deadline, "ffmpeg did not finish sending within 30 s");
    }
    assert!(sender.wait().unwrap().success());
    assert!(datagrams.len() > 20, "{} datagrams", datagrams.len());

    // What was sent, in sequence order.
    let mut sent: Vec<(u16, Vec<u8>)> = datagrams
        .iter()
        .map(|d| {
            let p = parse(d).unwrap();
            assert_eq!(p.header.payload_type, PT_MP2T);
            assert_eq!(p.payload.len() % 188, 0);
            (p.header.sequence, p.payload.to_vec())
        })
        .collect();
    let ssrcs: std::collections::BTreeSet<u32> = datagrams.iter().map(|d| parse(d).unwrap().header.ssrc).collect();
    assert_eq!(ssrcs.len(), 1);
    let first = sent[0].0;
    sent.sort_by_key(|(s, _)| s.wrapping_sub(first));
    let in_order: Vec<u8> = sent.iter().flat_map(|(_, p)| p.clone()).collect();

    // The network's worst: shuffled within 8, one in five sent twice. The
    // first packet stays first: it is where the receiver starts.
    let mut rng = Rng(0x5eed);
    let mut arriving = datagrams.clone();
    for chunk in arriving[1..].chunks_mut(8) {
        for i in (1..chunk.len()).rev() {
            chunk.swap(i, rng.below(i as u64 + 1) as usize);
        }
    }
    let mut copies = 0;
    let mut network = Vec::new();
    for d in arriving {
        if rng.below(5) == 0 {
            network.push(d.clone());
            copies += 1;
        }
        network.push(d);
    }
    let mut reorder = Reorder::new(32);
    let mut out = Vec::new();
    for d in &network {
        let p = parse(d).unwrap();
        reorder.push(p.header.sequence, p.payload, |p| out.push(p.to_vec()));
    }
    reorder.flush(|p| out.push(p.to_vec()));
    let stats = reorder.stats();
    let got = out.concat();
    assert!(got == in_order, "{} bytes out, {} sent; {stats:?}", got.len(), in_order.len());
    assert_eq!((stats.lost, stats.duplicates + stats.late), (0, copies));
    assert!(stats.reordered > 0);

    // The stream is whole: no continuity error, every video PES ffprobe
    // counts in the source.
    let mut demux = Demuxer::new();
    let mut events = demux.push(&in_order);
    events.extend(demux.finish());
    assert_eq!(demux.stats().continuity_errors, 0, "{:?}", demux.stats());
    let video = events
        .iter()
        .find_map(|e| match e {
            Event::Pmt { pmt, .. } => pmt.streams.iter().find(|s| s.stream_type == STREAM_TYPE_H264).map(|s| s.pid),
            _ => None,
        })
        .unwrap();
    let pes = events.iter().filter(|e| matches!(e, Event::Pes { pid, .. } if *pid == video)).count();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-count_packets", "-show_entries", "stream=nb_read_packets"])
        .args(["-of", "csv=p=0"])
        .arg(dir.path().join("src.ts"))
        .output()
        .unwrap();
    // ffprobe prints the count once per program and once per stream.
    let frames: usize = String::from_utf8_lossy(&probe.stdout).lines().next().unwrap().trim().parse().unwrap();
    assert_eq!(pes, frames);
}
