//! Receiving a transport stream over UDP or RTP: the socket (unicast, or a
//! multicast group joined, source-specific when asked), and turning each
//! datagram into whole 188-byte packets.

use crate::IoError;
use crate::failover::Source;
use crate::status::{InputState, InputStatus, Rate, RtpStatus};
use crate::url::InputUrl;
use socket2::{Domain, Protocol, Socket, Type};
use stagebox_media::rtp::{self, Reorder};
use stagebox_media::ts::{ContinuityCheck, PACKET_SIZE, SYNC_BYTE};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// The receive buffer asked for when the URL names none: 8 MiB holds
/// about 8 s at 8 Mb/s, so a busy moment on the host never drops input.
/// The kernel caps it at net.core.rmem_max (see docs/distributor.md).
pub const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;

/// RTP packets a stream may arrive out of order by: at 8 Mb/s with seven
/// TS packets each, 64 is about 85 ms.
pub const REORDER_WINDOW: usize = 64;

/// How long a missing RTP packet may hold back those behind it before it
/// is counted lost: reordering on a network is a few ms; a slow stream
/// (1 Mb/s) would otherwise wait 64 packets, 680 ms.
pub const REORDER_HOLD: std::time::Duration = std::time::Duration::from_millis(50);

/// The window of a ST 2022-7 merge: the most one leg may lag the other
/// (the path differential), about 340 ms at 8 Mb/s. A packet lost on both
/// legs holds the output that long.
pub const MERGE_WINDOW: usize = 256;

/// Opens the socket an input receives on.
pub fn bind(url: &InputUrl) -> Result<std::net::UdpSocket, IoError> {
    let what = || format!("the input socket for {}", url.address);
    let group = url.address.ip();
    let socket = Socket::new(Domain::for_address(url.address), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| IoError::Socket { what: what(), source: e })?;
    let setup = || -> std::io::Result<()> {
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.set_recv_buffer_size(url.buffer.unwrap_or(DEFAULT_RECEIVE_BUFFER))?;
        // A multicast input binds the group's address, so it receives that
        // group only, not every group on the port.
        socket.bind(&url.address.into())?;
        match (group, url.source) {
            (IpAddr::V4(g), Some(source)) => {
                socket.join_ssm_v4(&source, &g, &url.interface.unwrap_or(Ipv4Addr::UNSPECIFIED))
            }
            (IpAddr::V4(g), None) if g.is_multicast() => {
                socket.join_multicast_v4(&g, &url.interface.unwrap_or(Ipv4Addr::UNSPECIFIED))
            }
            (IpAddr::V6(g), _) if g.is_multicast() => socket.join_multicast_v6(&g, 0),
            _ => Ok(()),
        }
    };
    setup().map_err(|e| IoError::Socket { what: what(), source: e })?;
    Ok(socket.into())
}

/// Appends the whole packets in `bytes` to `out`, finding sync again after
/// garbage. Returns the bytes skipped.
pub fn aligned_packets(bytes: &[u8], out: &mut Vec<u8>) -> usize {
    // The usual case: a datagram of whole packets.
    if bytes.len().is_multiple_of(PACKET_SIZE) && bytes.chunks_exact(PACKET_SIZE).all(|p| p[0] == SYNC_BYTE) {
        out.extend_from_slice(bytes);
        return 0;
    }
    let mut skipped = 0;
    let mut at = 0;
    while at + PACKET_SIZE <= bytes.len() {
        // In sync when this byte and the one a packet on (if any) are 0x47.
        let next_ok = at + PACKET_SIZE == bytes.len() || bytes[at + PACKET_SIZE] == SYNC_BYTE;
        if bytes[at] == SYNC_BYTE && next_ok {
            out.extend_from_slice(&bytes[at..at + PACKET_SIZE]);
            at += PACKET_SIZE;
        } else {
            at += 1;
            skipped += 1;
        }
    }
    skipped + (bytes.len() - at)
}

/// One input's receive side: its URL, RTP reordering (unless merged with
/// the other input), and its counters.
pub struct Input {
    /// Primary or backup.
    pub role: Source,
    url_text: String,
    rtp: bool,
    /// Its own reorder window, when not merged.
    reorder: Option<Reorder>,
    check: ContinuityCheck,
    packets: u64,
    bytes: u64,
    malformed_bytes: u64,
    errors: u64,
    state: (InputState, Instant),
    rate: Rate,
    /// A merged leg's own packets, counted before they join the window.
    scratch: Vec<u8>,
}

impl Input {
    /// The receive side of `url`; `merged` inputs share a window kept by
    /// the channel instead of their own.
    pub fn new(role: Source, url_text: &str, url: &InputUrl, merged: bool) -> Input {
        Input {
            role,
            url_text: url_text.to_owned(),
            rtp: url.rtp,
            reorder: (url.rtp && !merged).then(|| Reorder::new(REORDER_WINDOW)),
            check: ContinuityCheck::new(),
            packets: 0,
            bytes: 0,
            malformed_bytes: 0,
            errors: 0,
            state: (InputState::Waiting, Instant::now()),
            rate: Rate::default(),
            scratch: Vec::new(),
        }
    }

    /// Takes one datagram, received at `now`; the transport packets it
    /// completes (in order) are appended to `out`. `shared` is the window
    /// of a merged pair.
    pub fn receive(&mut self, datagram: &[u8], now: Instant, shared: Option<&mut Reorder>, out: &mut Vec<u8>) {
        let start = out.len();
        if !self.rtp {
            self.malformed_bytes += aligned_packets(datagram, out) as u64;
            self.count_range(out, start);
            return;
        }
        let packet = match rtp::parse(datagram) {
            Ok(p) => p,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        match shared {
            // A merged leg counts what it received itself, so its
            // continuity errors show that leg's own losses.
            Some(window) => {
                let mut own = std::mem::take(&mut self.scratch);
                own.clear();
                self.malformed_bytes += aligned_packets(packet.payload, &mut own) as u64;
                self.count_range(&own, 0);
                self.scratch = own;
                window.push(packet.header.sequence, packet.payload, |payload| {
                    aligned_packets(payload, out);
                });
            }
            None => {
                let Some(window) = self.reorder.as_mut() else { return };
                let mut malformed = 0;
                window.push(packet.header.sequence, packet.payload, |payload| {
                    malformed += aligned_packets(payload, out) as u64;
                });
                window.expire(now, REORDER_HOLD, |payload| malformed += aligned_packets(payload, out) as u64);
                self.malformed_bytes += malformed;
                self.count_range(out, start);
            }
        }
    }

    /// The stream starts afresh (it was silent for the detection time, so
    /// a restarted sender's new sequence numbers are not "late").
    pub fn restart(&mut self) {
        if let Some(window) = &mut self.reorder {
            window.restart();
        }
    }

    /// Hands out what the input's own window still holds (it is being
    /// switched away from, or the stream ended).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        if let Some(window) = &mut self.reorder {
            let mut malformed = 0;
            window.flush(|payload| malformed += aligned_packets(payload, out) as u64);
            self.malformed_bytes += malformed;
        }
        self.count_range(out, start);
    }

    /// Counts the packets of `packets` from byte `start` on.
    fn count_range(&mut self, packets: &[u8], start: usize) {
        let packets = &packets[start..];
        for p in packets.chunks_exact(PACKET_SIZE) {
            if let Ok(p) = p.try_into() {
                self.check.check(p);
            }
        }
        self.packets += (packets.len() / PACKET_SIZE) as u64;
        self.bytes += packets.len() as u64;
    }

    /// Notes whether the input delivered lately.
    pub fn set_alive(&mut self, alive: bool, now: Instant) {
        let state = if alive {
            InputState::Receiving
        } else if self.state.0 == InputState::Waiting {
            InputState::Waiting
        } else {
            InputState::Silent
        };
        if state != self.state.0 {
            self.state = (state, now);
        }
    }

    /// A snapshot; `merged` is the shared window's counters, if any.
    pub fn status(&mut self, active: bool, merged: Option<&Reorder>, now: Instant) -> InputStatus {
        let window = merged.or(self.reorder.as_ref());
        InputStatus {
            role: self.role,
            url: self.url_text.clone(),
            active,
            state: self.state.0,
            uptime_s: now.saturating_duration_since(self.state.1).as_secs_f64(),
            packets: self.packets,
            bytes: self.bytes,
            bitrate_bps: self.rate.sample(now, self.bytes),
            cc_errors: self.check.errors(),
            malformed_bytes: self.malformed_bytes,
            errors: self.errors,
            rtp: window.map(|w| {
                let s = w.stats();
                RtpStatus { lost: s.lost, reordered: s.reordered, duplicates: s.duplicates, late: s.late }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: u8) -> Vec<u8> {
        let mut p = vec![n; PACKET_SIZE];
        p[0] = SYNC_BYTE;
        p
    }

    #[test]
    fn garbage_is_skipped_and_counted() {
        let mut bytes = b"junk".to_vec();
        bytes.extend(packet(1));
        bytes.extend(packet(2));
        bytes.extend(&packet(3)[..100]);
        let mut out = Vec::new();
        let skipped = aligned_packets(&bytes, &mut out);
        assert_eq!(out, [packet(1), packet(2)].concat());
        assert_eq!(skipped, 4 + 100);
    }

    #[test]
    fn a_lost_rtp_packet_holds_the_stream_for_the_hold_time_only() {
        use stagebox_media::rtp::{PT_MP2T, RtpHeader, write};
        let url = InputUrl::parse("rtp://127.0.0.1:5000").unwrap_or_else(|e| panic!("{e}"));
        let mut input = Input::new(Source::Primary, "rtp://127.0.0.1:5000", &url, false);
        let datagram = |seq: u16| {
            let header = RtpHeader { marker: false, payload_type: PT_MP2T, sequence: seq, timestamp: 0, ssrc: 1 };
            write(&header, &packet(seq as u8))
        };
        let t0 = Instant::now();
        let mut out = Vec::new();
        input.receive(&datagram(1), t0, None, &mut out);
        // 2 is lost; 3 waits for it, though a 1 Mb/s stream would take
        // 680 ms to fill the window.
        input.receive(&datagram(3), t0 + std::time::Duration::from_millis(10), None, &mut out);
        assert_eq!(out, packet(1));
        input.receive(&datagram(4), t0 + std::time::Duration::from_millis(10) + REORDER_HOLD, None, &mut out);
        assert_eq!(out, [packet(1), packet(3), packet(4)].concat());
        let status = input.status(true, None, Instant::now());
        assert_eq!(status.rtp.map(|r| r.lost), Some(1));
    }

    #[test]
    fn whole_datagrams_pass_untouched() {
        let bytes: Vec<u8> = (1..=7).flat_map(packet).collect();
        let mut out = Vec::new();
        assert_eq!(aligned_packets(&bytes, &mut out), 0);
        assert_eq!(out, bytes);
    }
}
