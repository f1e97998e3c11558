//! UDP and RTP destinations: non-blocking sends from the channel's task.
//!
//! Datagrams that are ready together go to the kernel together: the socket
//! is set up for UDP generic segmentation offload (`UDP_SEGMENT`, Linux
//! 4.18), so one `sendto` carries up to 64 datagrams laid end to end, and
//! the kernel (or the NIC) cuts them apart. The route lookup, netfilter and
//! the device's transmit path then run once per send rather than once per
//! datagram: that is most of what sending costs. A receiver sees ordinary
//! datagrams. Where the kernel or the route refuses GSO, the option is
//! cleared and each datagram goes out on its own from then on.

use crate::IoError;
use crate::status::OutputCounters;
use crate::url::UdpDestination;
use nix::sys::socket::{setsockopt, sockopt::UdpGsoSegment};
use socket2::{Domain, Protocol, Socket, Type};
use stagebox_media::rtp::{PT_MP2T, RtpHeader, append};
use stagebox_media::ts::PACKET_SIZE;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

/// The most datagrams one GSO send may carry (the kernel's
/// `UDP_MAX_SEGMENTS`).
const GSO_MAX_SEGMENTS: usize = 64;

/// The most bytes one GSO send may carry: what fits in one IPv4 datagram
/// (65,535 less the IP and UDP headers).
const GSO_MAX_BYTES: usize = 65_507;

/// RTP numbering for one stream (RFC 3550 §5.1; RFC 2250: the timestamp is
/// the 90 kHz time of sending).
struct RtpState {
    sequence: u16,
    ssrc: u32,
    epoch: Instant,
    base: u32,
    /// When the last datagram was stamped, since `epoch`.
    last: Option<std::time::Duration>,
}

/// A socket bound to send to one destination.
pub(super) struct UdpSink {
    socket: UdpSocket,
    to: SocketAddr,
    rtp: Option<RtpState>,
    /// Transport-stream bytes in a full datagram.
    payload: usize,
    /// Datagrams one send carries: more than one when the kernel takes
    /// GSO for this socket.
    per_send: usize,
    /// RTP datagrams laid end to end for one send.
    buffer: Vec<u8>,
}

impl UdpSink {
    pub(super) async fn open(dest: &UdpDestination) -> Result<UdpSink, IoError> {
        let to = tokio::net::lookup_host((dest.host.as_str(), dest.port))
            .await
            .map_err(|e| IoError::Resolve { host: dest.host.clone(), source: e })?
            .next()
            .ok_or_else(|| IoError::Resolve { host: dest.host.clone(), source: std::io::ErrorKind::NotFound.into() })?;
        let socket = Socket::new(Domain::for_address(to), Type::DGRAM, Some(Protocol::UDP))
            .and_then(|s| {
                s.set_nonblocking(true)?;
                // Room for bursts: 4 MiB is about 4 s at 8 Mb/s.
                s.set_send_buffer_size(4 << 20)?;
                if to.ip().is_multicast() {
                    if let SocketAddr::V4(_) = to {
                        s.set_multicast_ttl_v4(dest.ttl)?;
                        if let Some(interface) = dest.interface {
                            s.set_multicast_if_v4(&interface)?;
                        }
                    } else {
                        s.set_multicast_hops_v6(dest.ttl)?;
                    }
                } else if let SocketAddr::V4(_) = to {
                    s.set_ttl_v4(dest.ttl)?;
                }
                Ok(s)
            })
            .map_err(|e| IoError::Socket { what: format!("a UDP socket to send to {to}"), source: e })?;
        let socket = UdpSocket::from(socket);
        let payload = dest.packets_per_datagram * PACKET_SIZE;
        let segment = payload + if dest.rtp { 12 } else { 0 };
        let per_send = (GSO_MAX_BYTES / segment).min(GSO_MAX_SEGMENTS);
        // A kernel without UDP_SEGMENT refuses the option: one datagram a send.
        let per_send = match i32::try_from(segment).map(|s| setsockopt(&socket, UdpGsoSegment, &s)) {
            Ok(Ok(())) => per_send,
            _ => 1,
        };
        let rtp = dest.rtp.then(|| RtpState {
            sequence: rand::random(),
            ssrc: rand::random(),
            epoch: Instant::now(),
            base: rand::random(),
            last: None,
        });
        Ok(UdpSink { socket, to, rtp, payload, per_send, buffer: Vec::with_capacity(per_send * segment) })
    }

    /// Transport-stream bytes that fill the datagrams of one send.
    pub(super) fn batch_bytes(&self) -> usize {
        self.payload * self.per_send
    }

    /// Sends `ts` (whole transport packets) as datagrams of the
    /// destination's size, the last one maybe shorter, in as few sends as
    /// the kernel allows. What a full socket buffer refuses is counted as
    /// dropped; other failures are counted as errors too.
    pub(super) fn send(&mut self, ts: &[u8], counters: &OutputCounters) {
        let mut rest = ts;
        while !rest.is_empty() {
            let (batch, next) = rest.split_at(rest.len().min(self.batch_bytes()));
            rest = next;
            let segment = self.frame(batch);
            let wire = if self.rtp.is_some() { &self.buffer[..] } else { batch };
            match self.socket.send_to(wire, self.to) {
                Ok(_) => counters.sent_datagrams(packets(batch), batch.len(), batch.len().div_ceil(self.payload), 1),
                // With UDP_SEGMENT set, EIO: the route's device cannot
                // segment (IPsec, or no checksum offload); EINVAL: GSO is
                // not allowed there (the MTU). Some kernels refuse even a
                // single datagram then, so the option is cleared, and each
                // datagram goes alone from now on.
                Err(e) if self.per_send > 1 && matches!(e.raw_os_error(), Some(nix::libc::EIO | nix::libc::EINVAL)) => {
                    tracing::debug!(to = %self.to, error = %e, "UDP GSO refused; sending datagrams one by one");
                    let _ = setsockopt(&self.socket, UdpGsoSegment, &0);
                    self.per_send = 1;
                    for (ts, datagram) in batch.chunks(self.payload).zip(wire.chunks(segment)) {
                        match self.socket.send_to(datagram, self.to) {
                            Ok(_) => counters.sent_datagrams(packets(ts), ts.len(), 1, 1),
                            Err(e) => failed(counters, &e, ts),
                        }
                    }
                }
                Err(e) => failed(counters, &e, batch),
            }
        }
    }

    /// Lays out the RTP datagrams of `batch` in the buffer (a UDP output
    /// sends `batch` itself); returns the size of a full datagram on the
    /// wire. The datagrams of a batch are stamped evenly between the last
    /// send and now, as if each had been sent on its own.
    fn frame(&mut self, batch: &[u8]) -> usize {
        let Some(rtp) = &mut self.rtp else {
            return self.payload;
        };
        let now = rtp.epoch.elapsed();
        let since = rtp.last.filter(|l| now.saturating_sub(*l) < std::time::Duration::from_secs(1)).unwrap_or(now);
        rtp.last = Some(now);
        let count = batch.len().div_ceil(self.payload).max(1) as u32;
        self.buffer.clear();
        for (i, datagram) in batch.chunks(self.payload).enumerate() {
            let at = since + now.saturating_sub(since) * (i as u32 + 1) / count;
            let header = RtpHeader {
                marker: false,
                payload_type: PT_MP2T,
                sequence: rtp.sequence,
                timestamp: rtp.base.wrapping_add((at.as_micros() * 9 / 100) as u32),
                ssrc: rtp.ssrc,
            };
            rtp.sequence = rtp.sequence.wrapping_add(1);
            append(&header, datagram, &mut self.buffer);
        }
        self.payload + 12
    }
}

fn packets(ts: &[u8]) -> u64 {
    (ts.len() / PACKET_SIZE) as u64
}

/// Counts what a failed send lost.
fn failed(counters: &OutputCounters, error: &std::io::Error, ts: &[u8]) {
    counters.dropped(packets(ts));
    if error.kind() != std::io::ErrorKind::WouldBlock {
        counters.error(error);
    }
}
