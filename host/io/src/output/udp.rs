//! UDP and RTP destinations: non-blocking sends from the channel's task.

use crate::IoError;
use crate::url::UdpDestination;
use socket2::{Domain, Protocol, Socket, Type};
use stagebox_media::rtp::{PT_MP2T, RtpHeader, write_into};
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

/// RTP numbering for one stream (RFC 3550 §5.1; RFC 2250: the timestamp is
/// the 90 kHz time of sending).
struct RtpState {
    sequence: u16,
    ssrc: u32,
    epoch: Instant,
    base: u32,
}

/// A socket bound to send to one destination.
pub(super) struct UdpSink {
    socket: UdpSocket,
    to: SocketAddr,
    rtp: Option<RtpState>,
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
        let rtp = dest.rtp.then(|| RtpState {
            sequence: rand::random(),
            ssrc: rand::random(),
            epoch: Instant::now(),
            base: rand::random(),
        });
        Ok(UdpSink { socket: socket.into(), to, rtp, buffer: Vec::with_capacity(12 + 7 * 188) })
    }

    /// Sends one datagram of transport packets.
    pub(super) fn send(&mut self, packets: &[u8]) -> std::io::Result<()> {
        let Some(rtp) = &mut self.rtp else {
            return self.socket.send_to(packets, self.to).map(drop);
        };
        let ticks = (rtp.epoch.elapsed().as_micros() * 9 / 100) as u32;
        let header = RtpHeader {
            marker: false,
            payload_type: PT_MP2T,
            sequence: rtp.sequence,
            timestamp: rtp.base.wrapping_add(ticks),
            ssrc: rtp.ssrc,
        };
        rtp.sequence = rtp.sequence.wrapping_add(1);
        write_into(&header, packets, &mut self.buffer);
        self.socket.send_to(&self.buffer, self.to).map(drop)
    }
}
