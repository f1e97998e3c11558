//! What the distributor tests share: a source stream made by ffmpeg with
//! SCTE-35 cues put in, a paced RTP sender, a UDP capture, and the
//! reference readers (ffmpeg's demuxer, ffprobe, threefive).

#![allow(dead_code, unused_imports, clippy::unwrap_used)] // each test uses what it needs

#[path = "../../../media/tests/support/mod.rs"]
mod media;

pub use media::{captioned_ts, ffmpeg, ffmpeg_cc_failures, generated_cues, threefive_cues, threefive_decode};
use stagebox_media::rtp::{PT_MP2T, RtpHeader, write};
use stagebox_media::scte35::SpliceInfoSection;
use stagebox_media::ts::{Demuxer, Event, NULL_PID, PACKET_SIZE, SectionPacketizer};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The SCTE-35 PID the tests put cues on.
pub const CUE_PID: u16 = 0x1f0;

/// The source's rate: every test stream is 8 Mb/s, padded with null
/// packets by ffmpeg's muxer.
pub const RATE: u64 = 8_000_000;

/// A source stream and the cues in it.
pub struct Source {
    /// The transport stream.
    pub ts: Vec<u8>,
    /// The splice_info_sections put in, in order.
    pub cues: Vec<Vec<u8>>,
}

/// `seconds` of ffmpeg's `pattern` in H.264 and a tone in AAC at 8 Mb/s,
/// with the ANSI/SCTE 35 §14 examples put in on [`CUE_PID`] (in place of
/// null packets, so the rate stays) and the PMT rewritten to list it.
pub fn source(dir: &Path, pattern: &str, seconds: u32) -> Source {
    source_with(dir, pattern, seconds, |_| {
        media::scte35_spec_examples()
            .iter()
            .map(|(_, b64)| SpliceInfoSection::from_text(b64).unwrap().to_bytes().unwrap())
            .collect()
    })
}

/// The ANSI/SCTE 35 §14 example `number` ("14.2"), in base64.
pub fn spec_example(number: &str) -> &'static str {
    media::scte35_spec_examples()
        .into_iter()
        .find(|(name, _)| name.split_whitespace().next() == Some(number))
        .map(|(_, b64)| b64)
        .unwrap_or_else(|| panic!("no §{number} example"))
}

/// The first video PTS of a transport stream.
pub fn first_video_pts(ts: &[u8]) -> u64 {
    let mut demux = Demuxer::new();
    demux
        .push(ts)
        .into_iter()
        .find_map(|e| match e {
            Event::Pes { pes, .. } if pes.stream_id & 0xf0 == 0xe0 => pes.pts,
            _ => None,
        })
        .unwrap()
}

/// As [`source`], with the cues `cues` makes from the encoded stream (to
/// place splice points on its timeline), spread evenly through it: cue k
/// of n at k+1 / (n+1) of the stream.
pub fn source_with(dir: &Path, pattern: &str, seconds: u32, cues: impl FnOnce(&[u8]) -> Vec<Vec<u8>>) -> Source {
    let name = format!("{pattern}.ts");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("{pattern}=size=320x240:rate=25"),
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            &seconds.to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-c:a",
            "aac",
            "-muxrate",
            &RATE.to_string(),
            "-f",
            "mpegts",
            &name,
        ],
        dir,
    );
    let mut ts = std::fs::read(dir.join(&name)).unwrap();
    let cues = cues(&ts);
    // The PMT, with the SCTE-35 stream and the CUEI registration added.
    let mut demux = Demuxer::new();
    let events = demux.push(&ts);
    let (pmt_pid, mut pmt) = events
        .into_iter()
        .find_map(|e| match e {
            Event::Pmt { pid, pmt } => Some((pid, pmt)),
            _ => None,
        })
        .unwrap();
    pmt.version = (pmt.version + 1) & 0x1f;
    pmt.descriptors.extend([0x05, 0x04, b'C', b'U', b'E', b'I']);
    pmt.streams.push(stagebox_media::ts::PmtStream { stream_type: 0x86, pid: CUE_PID, descriptors: vec![] });
    let pmt_section = pmt.to_section();
    let mut pmt_packets = SectionPacketizer::new(pmt_pid, 0);
    let mut cue_packets = SectionPacketizer::new(CUE_PID, 0);
    let count = ts.len() / PACKET_SIZE;
    let every = count / (cues.len() + 1);
    let mut next_cue = 0;
    for (i, packet) in ts.chunks_exact_mut(PACKET_SIZE).enumerate() {
        let pid = u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
        if pid == pmt_pid {
            let new = pmt_packets.packets(&pmt_section);
            assert_eq!(new.len(), 1, "the PMT fits one packet");
            packet.copy_from_slice(&new[0]);
        } else if pid == NULL_PID && next_cue < cues.len() && i >= every * (next_cue + 1) {
            let new = cue_packets.packets(&cues[next_cue]);
            assert_eq!(new.len(), 1, "each example fits one packet");
            packet.copy_from_slice(&new[0]);
            next_cue += 1;
        }
    }
    assert_eq!(next_cue, cues.len(), "room for every cue");
    Source { ts, cues }
}

/// A thread sending `ts` as RTP (seven packets a datagram) to `to` at
/// [`RATE`], until the end or until `stop`.
/// Returns the number of datagrams sent.
pub fn send_rtp(ts: Vec<u8>, to: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    send_rtp_legs(ts, vec![(to, |_| false)], stop)
}

/// One path of a ST 2022-7 pair: where it goes, and which datagrams (by
/// index) it loses.
pub type Leg = (SocketAddr, fn(usize) -> bool);

/// As [`send_rtp`], but each datagram goes to every leg (one thread, so
/// the legs do not drift apart), except that leg `(to, skip)` loses
/// datagram `i` when `skip(i)`. Returns the datagrams sent on all legs.
pub fn send_rtp_legs(ts: Vec<u8>, legs: Vec<Leg>, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let interval = Duration::from_secs_f64((7 * PACKET_SIZE * 8) as f64 / RATE as f64);
        let start = Instant::now();
        let mut sent = 0;
        for (i, chunk) in ts.chunks(7 * PACKET_SIZE).enumerate() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let due = start + interval * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let header = RtpHeader {
                marker: false,
                payload_type: PT_MP2T,
                sequence: i as u16,
                timestamp: (i * 90) as u32,
                ssrc: 9,
            };
            let datagram = write(&header, chunk);
            for (to, skip) in &legs {
                if !skip(i) {
                    socket.send_to(&datagram, to).unwrap();
                    sent += 1;
                }
            }
        }
        sent
    })
}

/// What a capture received.
pub struct Capture {
    /// The bytes, RTP headers removed.
    pub ts: Vec<u8>,
    /// When each datagram arrived.
    pub arrivals: Vec<Instant>,
    /// RTP: the sequence numbers and timestamps, in order of arrival.
    pub sequences: Vec<u16>,
    pub timestamps: Vec<u32>,
}

impl Capture {
    /// The longest time between two datagrams.
    pub fn longest_gap(&self) -> Duration {
        self.arrivals.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
    }
}

/// A UDP socket on loopback and a thread capturing what arrives on it,
/// until nothing has come for `idle` after the first datagram (or 60 s).
pub fn capture(rtp: bool, idle: Duration) -> (SocketAddr, JoinHandle<Capture>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    socket.set_recv_buffer_size(8 << 20).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
    let socket: UdpSocket = socket.into();
    let address = socket.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut out = Capture { ts: Vec::new(), arrivals: Vec::new(), sequences: Vec::new(), timestamps: Vec::new() };
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            match socket.recv(&mut buf) {
                Ok(n) => {
                    let now = Instant::now();
                    out.arrivals.push(now);
                    if rtp {
                        let packet = stagebox_media::rtp::parse(&buf[..n]).unwrap();
                        out.sequences.push(packet.header.sequence);
                        out.timestamps.push(packet.header.timestamp);
                        out.ts.extend_from_slice(packet.payload);
                    } else {
                        out.ts.extend_from_slice(&buf[..n]);
                    }
                }
                Err(_) => {
                    if out.arrivals.last().is_some_and(|l| l.elapsed() >= idle) {
                        break;
                    }
                }
            }
        }
        out
    });
    (address, handle)
}

/// The codec names ffprobe finds in `dir/name`.
pub fn ffprobe_codecs(dir: &Path, name: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(dir.join(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_owned()).collect()
}

/// A free UDP port on loopback (for peers that must be told one).
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
