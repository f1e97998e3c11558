//! RTP (RFC 3550): packets read and written, and a [`Reorder`] window that
//! puts a stream back in sequence order, drops duplicates and counts what
//! was lost. Pure: the sockets are `host/io`'s.
//!
//! ```
//! use stagebox_media::rtp::{Reorder, RtpHeader, PT_MP2T, write};
//! let mut reorder = Reorder::new(32);
//! let mut out = Vec::new();
//! for seq in [1u16, 3, 3, 2] {
//!     let bytes = write(&RtpHeader { marker: false, payload_type: PT_MP2T, sequence: seq, timestamp: 0, ssrc: 7 }, &[seq as u8]);
//!     let packet = stagebox_media::rtp::parse(&bytes)?;
//!     reorder.push(packet.header.sequence, packet.payload, |p| out.push(p.to_vec()));
//! }
//! assert_eq!(out, [vec![1], vec![2], vec![3]]);
//! assert_eq!(reorder.stats().duplicates, 1);
//! # Ok::<(), stagebox_media::rtp::RtpError>(())
//! ```

/// The static payload type of MPEG-2 transport streams (RFC 3551).
pub const PT_MP2T: u8 = 33;

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the 12-byte header, its CSRCs or its extension.
    #[error("RTP packet of {0} bytes is shorter than its header")]
    Short(usize),
    /// Not RTP version 2.
    #[error("RTP version {0}, not 2")]
    Version(u8),
    /// The padding count is zero or runs past the payload.
    #[error("RTP padding of {0} bytes does not fit")]
    Padding(u8),
}

/// The fixed RTP header (CSRCs and extensions are skipped when reading
/// and not written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// The marker bit.
    pub marker: bool,
    /// The payload type, 7 bits.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The media timestamp (90 kHz for MPEG-2 TS).
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
}

/// A parsed packet, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without CSRCs, extension or padding.
    pub payload: &'a [u8],
}

/// Reads one packet.
pub fn parse(bytes: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let short = RtpError::Short(bytes.len());
    if bytes.len() < 12 {
        return Err(short);
    }
    let version = bytes[0] >> 6;
    if version != 2 {
        return Err(RtpError::Version(version));
    }
    let (padding, extension, csrcs) = (bytes[0] & 0x20 != 0, bytes[0] & 0x10 != 0, usize::from(bytes[0] & 0x0f));
    let header = RtpHeader {
        marker: bytes[1] & 0x80 != 0,
        payload_type: bytes[1] & 0x7f,
        sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
        timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
    };
    let mut start = 12 + 4 * csrcs;
    if extension {
        let words = bytes.get(start + 2..start + 4).ok_or(short.clone())?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut end = bytes.len();
    if start > end {
        return Err(short);
    }
    if padding {
        let count = bytes[end - 1];
        if count == 0 || usize::from(count) > end - start {
            return Err(RtpError::Padding(count));
        }
        end -= usize::from(count);
    }
    Ok(RtpPacket { header, payload: &bytes[start..end] })
}

/// Writes one packet: the 12-byte header, then `payload`.
pub fn write(header: &RtpHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + payload.len());
    append(header, payload, &mut out);
    out
}

/// Appends one packet to `out` (so a sender can reuse one buffer, or lay
/// several packets end to end for one UDP GSO send).
pub fn append(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.push(0x80);
    out.push(if header.marker { 0x80 } else { 0 } | (header.payload_type & 0x7f));
    out.extend(header.sequence.to_be_bytes());
    out.extend(header.timestamp.to_be_bytes());
    out.extend(header.ssrc.to_be_bytes());
    out.extend(payload);
}

/// What a [`Reorder`] window saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReorderStats {
    /// Packets pushed.
    pub received: u64,
    /// Packets handed out, in order.
    pub delivered: u64,
    /// Packets that arrived after a later one.
    pub reordered: u64,
    /// Second copies of a packet still in the window, dropped.
    pub duplicates: u64,
    /// Packets that came after their turn had passed (or copies of one
    /// already handed out), dropped.
    pub late: u64,
    /// Sequence numbers given up on: never arrived within the window.
    pub lost: u64,
    /// Times the sender's sequence jumped so far that the window started
    /// afresh (a restarted sender).
    pub restarts: u64,
}

/// A jump in sequence numbers beyond this many packets is a new stream,
/// not loss.
const RESTART: i32 = 3000;

/// Puts packets back in sequence order within a window of `window`
/// packets: a packet waits until those before it arrive, or until one
/// arrives `window` or more ahead, when the missing ones are counted lost.
/// The first packet pushed is where the stream starts: anything older that
/// comes after it is late. Packets are handed out through a callback: one
/// that arrives in order goes straight through, and one that waits is
/// copied into a slot whose buffer is reused, so a window allocates
/// nothing once it has run a while.
#[derive(Debug)]
pub struct Reorder {
    slots: Vec<Slot>,
    next: Option<u16>,
    highest: Option<u16>,
    stats: ReorderStats,
    /// Packets waiting in slots.
    waiting: usize,
    /// The missing packet the window has been waiting for, and since when
    /// (as [`Reorder::expire`] was told).
    gap: Option<(u16, std::time::Instant)>,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    /// The sequence number of the packet waiting here, if one is.
    seq: Option<u16>,
    payload: Vec<u8>,
}

impl Reorder {
    /// A window of `window` packets (at least 1), rounded up to a power
    /// of two so that a sequence number maps to the same slot across the
    /// 16-bit wrap.
    pub fn new(window: usize) -> Reorder {
        Reorder {
            slots: vec![Slot::default(); window.clamp(1, 32_768).next_power_of_two()],
            next: None,
            highest: None,
            stats: ReorderStats::default(),
            waiting: 0,
            gap: None,
        }
    }

    /// Forgets where the stream was (what waits is dropped, its gaps not
    /// counted lost): the next packet starts it afresh, as after a sender
    /// restarted with new sequence numbers. The counters carry on.
    pub fn restart(&mut self) {
        self.slots.iter_mut().for_each(|s| s.seq = None);
        self.waiting = 0;
        self.next = None;
        self.highest = None;
        self.stats.restarts += 1;
    }

    /// Gives up on a missing packet once the window has waited `hold` for
    /// it (counted from the first call that found it missing): what waits
    /// behind it goes out and it counts lost, so a gap holds a slow stream
    /// for `hold`, not for a window's worth of packets. Call it with the
    /// time after each [`push`](Reorder::push).
    pub fn expire(&mut self, now: std::time::Instant, hold: std::time::Duration, mut out: impl FnMut(&[u8])) {
        let Some(next) = self.next.filter(|_| self.waiting > 0) else {
            self.gap = None;
            return;
        };
        match self.gap {
            Some((seq, since)) if seq == next => {
                if now.saturating_duration_since(since) < hold {
                    return;
                }
                // Count the missing lost up to the first packet waiting
                // (within a window's length: that is where they wait)...
                for _ in 0..self.slots.len() {
                    let delivered = self.stats.delivered;
                    self.step(true, &mut out);
                    if self.stats.delivered > delivered || self.waiting == 0 {
                        break;
                    }
                }
                // ...and hand out what follows it in order.
                while self.step(false, &mut out) {}
                self.gap = None;
            }
            _ => self.gap = Some((next, now)),
        }
    }

    /// What it saw so far.
    pub fn stats(&self) -> ReorderStats {
        self.stats
    }

    fn slot(&self, seq: u16) -> usize {
        usize::from(seq) % self.slots.len()
    }

    /// Hands out the packet `next` if it is here, or counts it lost when
    /// `force`; returns whether `next` moved.
    fn step(&mut self, force: bool, out: &mut impl FnMut(&[u8])) -> bool {
        let Some(next) = self.next else { return false };
        let i = self.slot(next);
        let slot = &mut self.slots[i];
        if slot.seq == Some(next) {
            slot.seq = None;
            self.waiting -= 1;
            out(&slot.payload);
            self.stats.delivered += 1;
        } else if force {
            self.stats.lost += 1;
        } else {
            return false;
        }
        self.next = Some(next.wrapping_add(1));
        true
    }

    /// Adds packet `seq`; the packets now in order are handed to `out`.
    pub fn push(&mut self, seq: u16, payload: &[u8], mut out: impl FnMut(&[u8])) {
        self.stats.received += 1;
        let next = *self.next.get_or_insert(seq);
        let ahead = i32::from(seq.wrapping_sub(next) as i16);
        if !(-RESTART..=RESTART).contains(&ahead) {
            // A new stream: hand out what is waiting, then start from here.
            self.flush(&mut out);
            self.stats.restarts += 1;
            self.next = Some(seq);
            self.highest = None;
            return self.push_in_window(seq, payload, &mut out);
        }
        if ahead < 0 {
            self.stats.late += 1;
            return;
        }
        // Too far ahead for the window: give up on the oldest until it fits.
        let window = self.slots.len() as i32;
        let mut ahead = ahead;
        while ahead >= window {
            self.step(true, &mut out);
            ahead -= 1;
        }
        self.push_in_window(seq, payload, &mut out);
    }

    fn push_in_window(&mut self, seq: u16, payload: &[u8], out: &mut impl FnMut(&[u8])) {
        let i = self.slot(seq);
        if self.slots[i].seq == Some(seq) {
            self.stats.duplicates += 1;
            return;
        }
        if self.highest.is_some_and(|h| (seq.wrapping_sub(h) as i16) < 0) {
            self.stats.reordered += 1;
        } else {
            self.highest = Some(seq);
        }
        if self.next == Some(seq) {
            // Its turn: straight through, no copy. (Were it waiting, it
            // would have gone out when it came.)
            out(payload);
            self.stats.delivered += 1;
            self.next = Some(seq.wrapping_add(1));
        } else {
            let slot = &mut self.slots[i];
            slot.seq = Some(seq);
            self.waiting += 1;
            slot.payload.clear();
            slot.payload.extend_from_slice(payload);
        }
        while self.step(false, out) {}
    }

    /// Hands out everything still waiting, in order, counting the gaps
    /// lost (at the end of a stream).
    pub fn flush(&mut self, mut out: impl FnMut(&[u8])) {
        let waiting = self.slots.iter().filter(|s| s.seq.is_some()).count();
        let mut handed = 0;
        let mut guard = self.slots.len();
        while handed < waiting && guard > 0 {
            let before = self.stats.delivered;
            self.step(true, &mut out);
            handed += usize::from(self.stats.delivered > before);
            guard -= 1;
        }
        self.slots.iter_mut().for_each(|s| s.seq = None);
        self.waiting = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(sequence: u16) -> RtpHeader {
        RtpHeader { marker: false, payload_type: PT_MP2T, sequence, timestamp: 9, ssrc: 0x1234 }
    }

    #[test]
    fn headers_round_trip_and_extensions_padding_and_csrcs_are_skipped() {
        let bytes = write(&RtpHeader { marker: true, ..header(65535) }, b"payload");
        let p = parse(&bytes).unwrap();
        assert_eq!((p.header, p.payload), (RtpHeader { marker: true, ..header(65535) }, &b"payload"[..]));
        // Two CSRCs, a one-word extension, and 3 bytes of padding.
        let mut b = vec![0x80 | 0x20 | 0x10 | 2, 33, 0, 1, 0, 0, 0, 9, 0, 0, 0x12, 0x34];
        b.extend([0u8; 8]);
        b.extend([0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        b.extend(b"ts");
        b.extend([0, 0, 3]);
        assert_eq!(parse(&b).unwrap().payload, b"ts");
        assert_eq!(parse(&b[..11]), Err(RtpError::Short(11)));
        let mut v1 = b.clone();
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::Version(1)));
        let mut pad = b.clone();
        *pad.last_mut().unwrap() = 200;
        assert_eq!(parse(&pad), Err(RtpError::Padding(200)));
        // Never panics on anything short.
        for n in 0..b.len() {
            let _ = parse(&b[..n]);
        }
    }

    fn run(window: usize, seqs: &[u16]) -> (Vec<u16>, ReorderStats) {
        let mut r = Reorder::new(window);
        let mut out = Vec::new();
        for s in seqs {
            r.push(*s, &s.to_be_bytes(), |p| out.push(p.to_vec()));
        }
        r.flush(|p| out.push(p.to_vec()));
        (out.iter().map(|p| u16::from_be_bytes([p[0], p[1]])).collect(), r.stats())
    }

    #[test]
    fn windows_are_powers_of_two_so_slots_survive_the_wrap() {
        // A window of 3 would put 65535 and 0 in the same slot.
        let (out, s) = run(3, &[65534, 0, 65535, 1]);
        assert_eq!(out, [65534, 65535, 0, 1]);
        assert_eq!((s.lost, s.delivered), (0, 4));
    }

    #[test]
    fn a_gap_is_given_up_on_after_the_hold_time() {
        use std::time::{Duration, Instant};
        let hold = Duration::from_millis(50);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut r = Reorder::new(64);
        let mut out = Vec::new();
        let push = |r: &mut Reorder, seq: u16, ms: u64, out: &mut Vec<u16>| {
            r.push(seq, &seq.to_be_bytes(), |p| out.push(u16::from_be_bytes([p[0], p[1]])));
            r.expire(at(ms), hold, |p| out.push(u16::from_be_bytes([p[0], p[1]])));
        };
        push(&mut r, 1, 0, &mut out);
        // 2 is missing: 3 and 4 wait for it, well within the window...
        push(&mut r, 3, 10, &mut out);
        push(&mut r, 4, 40, &mut out);
        assert_eq!(out, [1]);
        // ...until 50 ms after the gap was first seen: 2 is lost, 3 to 5 go.
        push(&mut r, 5, 60, &mut out);
        assert_eq!(out, [1, 3, 4, 5]);
        assert_eq!((r.stats().lost, r.stats().delivered), (1, 4));
        // A new gap (6 and 7) gets its own 50 ms, not the old one's.
        push(&mut r, 8, 70, &mut out);
        push(&mut r, 9, 110, &mut out);
        assert_eq!(out, [1, 3, 4, 5]);
        // It filling in time releases everything, nothing lost.
        push(&mut r, 6, 115, &mut out);
        push(&mut r, 7, 116, &mut out);
        assert_eq!(out, [1, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(r.stats().lost, 1);
    }

    #[test]
    fn reorders_drops_copies_and_counts_losses_across_the_wrap() {
        // A second 0 after 0 went out is late; a second 2 while it waits
        // for 1 is a duplicate.
        let (out, s) = run(8, &[65533, 65535, 65534, 0, 0, 2, 2, 1, 65534]);
        assert_eq!(out, [65533, 65534, 65535, 0, 1, 2]);
        assert_eq!((s.reordered, s.duplicates, s.late, s.lost), (2, 1, 2, 0));
        // 3 never comes: given up on when 4 + window arrives.
        let (out, s) = run(4, &[1, 2, 4, 5, 6, 7, 8]);
        assert_eq!(out, [1, 2, 4, 5, 6, 7, 8]);
        assert_eq!(s.lost, 1);
        // A restarted sender is followed, not counted as 60000 losses.
        let (out, s) = run(4, &[100, 101, 40000, 40001]);
        assert_eq!(out, [100, 101, 40000, 40001]);
        assert_eq!((s.lost, s.restarts), (0, 1));
    }
}
