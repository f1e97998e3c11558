//! Writing PES packets (ISO/IEC 13818-1 §2.4.3.6) into transport packets
//! on one PID: the PES header with its PTS (and DTS where it differs),
//! the first packet with payload_unit_start, an optional PCR and the
//! random_access_indicator of a keyframe, the last filled out with
//! adaptation-field stuffing.

use super::packet::{PACKET_SIZE, SYNC_BYTE};
use super::pes::WRAP;

/// A PES packet to write.
#[derive(Debug, Clone, Copy)]
pub struct PesOut<'a> {
    /// stream_id (0xE0: the first video stream, 0xC0: the first audio).
    pub stream_id: u8,
    /// 90 kHz.
    pub pts: u64,
    /// 90 kHz; left out of the header when equal to `pts`.
    pub dts: u64,
    /// The elementary stream bytes (a whole access unit).
    pub payload: &'a [u8],
    /// A decoder can start here (random_access_indicator).
    pub random_access: bool,
    /// The PCR to put in the first packet (27 MHz), if any.
    pub pcr: Option<u64>,
}

/// The five bytes of a PTS or DTS with its four-bit prefix.
fn timestamp(prefix: u8, ts: u64) -> [u8; 5] {
    let ts = ts % WRAP;
    [
        prefix << 4 | ((ts >> 29) & 0x0e) as u8 | 1,
        (ts >> 22) as u8,
        ((ts >> 14) & 0xfe) as u8 | 1,
        (ts >> 7) as u8,
        ((ts << 1) & 0xfe) as u8 | 1,
    ]
}

/// Cuts PES packets into transport packets on one PID, keeping its
/// continuity counter.
#[derive(Debug, Clone)]
pub struct PesPacketizer {
    pid: u16,
    continuity: u8,
}

impl PesPacketizer {
    /// A packetizer for `pid` whose first packet has continuity counter
    /// `continuity`.
    pub fn new(pid: u16, continuity: u8) -> PesPacketizer {
        PesPacketizer { pid: pid & 0x1fff, continuity: continuity & 0x0f }
    }

    /// The transport packets carrying `pes`, appended to `out`. Video
    /// (stream_id 0xE0–0xEF) gets PES_packet_length 0 (unbounded), as
    /// 13818-1 allows for video in a transport stream; other streams their
    /// length, up to 65 535.
    pub fn packets(&mut self, pes: &PesOut<'_>, out: &mut Vec<u8>) {
        let with_dts = pes.dts % WRAP != pes.pts % WRAP;
        let mut header = vec![0, 0, 1, pes.stream_id, 0, 0, 0x80];
        if with_dts {
            header.extend_from_slice(&[0xc0, 10]);
            header.extend_from_slice(&timestamp(0b0011, pes.pts));
            header.extend_from_slice(&timestamp(0b0001, pes.dts));
        } else {
            header.extend_from_slice(&[0x80, 5]);
            header.extend_from_slice(&timestamp(0b0010, pes.pts));
        }
        let length = header.len() - 6 + pes.payload.len();
        if pes.stream_id & 0xf0 != 0xe0 && length <= usize::from(u16::MAX) {
            header[4..6].copy_from_slice(&(length as u16).to_be_bytes());
        }
        let mut rest: &[u8] = pes.payload;
        let mut head: &[u8] = &header;
        let mut first = true;
        while first || !head.is_empty() || !rest.is_empty() {
            // The adaptation field's bytes after its length byte: `None`
            // for no field at all.
            let mut adaptation: Option<Vec<u8>> = None;
            if first && (pes.pcr.is_some() || pes.random_access) {
                let mut field = vec![if pes.random_access { 0x40 } else { 0 }];
                if let Some(pcr) = pes.pcr {
                    field[0] |= 0x10;
                    let (base, ext) = ((pcr / 300) % WRAP, pcr % 300);
                    field.extend_from_slice(&(base << 15 | 0x3f << 9 | ext).to_be_bytes()[2..]);
                }
                adaptation = Some(field);
            }
            let left = head.len() + rest.len();
            let room = |a: &Option<Vec<u8>>| PACKET_SIZE - 4 - a.as_ref().map_or(0, |f| 1 + f.len());
            if left < room(&adaptation) {
                // The adaptation field grows to fill the packet: a length
                // byte alone stuffs one byte, a flags byte and 0xFF more.
                let stuffing = room(&adaptation) - left;
                match &mut adaptation {
                    Some(field) => field.extend(std::iter::repeat_n(0xff, stuffing)),
                    None if stuffing == 1 => adaptation = Some(Vec::new()),
                    None => {
                        let mut field = vec![0];
                        field.extend(std::iter::repeat_n(0xff, stuffing - 2));
                        adaptation = Some(field);
                    }
                }
            }
            let mut p = [0u8; PACKET_SIZE];
            p[0] = SYNC_BYTE;
            let [hi, lo] = self.pid.to_be_bytes();
            p[1] = if first { 0x40 } else { 0 } | hi;
            p[2] = lo;
            p[3] = if adaptation.is_some() { 0x30 } else { 0x10 } | self.continuity;
            self.continuity = (self.continuity + 1) & 0x0f;
            let mut at = 4;
            if let Some(field) = &adaptation {
                p[4] = field.len() as u8;
                p[5..5 + field.len()].copy_from_slice(field);
                at = 5 + field.len();
            }
            let from_head = head.len().min(PACKET_SIZE - at);
            p[at..at + from_head].copy_from_slice(&head[..from_head]);
            head = &head[from_head..];
            at += from_head;
            let from_rest = rest.len().min(PACKET_SIZE - at);
            p[at..at + from_rest].copy_from_slice(&rest[..from_rest]);
            rest = &rest[from_rest..];
            out.extend_from_slice(&p);
            first = false;
        }
    }

    /// The continuity counter the next packet will carry.
    pub fn next_continuity(&self) -> u8 {
        self.continuity
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ts::{ContinuityCheck, Packet, PesAssembler};

    #[test]
    fn pes_packets_read_back_with_their_timestamps_and_pcr() {
        let mut packetizer = PesPacketizer::new(0x100, 14);
        let mut check = ContinuityCheck::new();
        for size in [0usize, 1, 150, 170, 176, 177, 178, 183, 184, 1000, 70_000] {
            let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let pes = PesOut {
                stream_id: if size == 1000 { 0xc0 } else { 0xe0 },
                pts: WRAP - 10 + size as u64,
                dts: if size % 2 == 0 { WRAP - 3000 } else { WRAP - 10 + size as u64 },
                payload: &payload,
                random_access: size == 150,
                pcr: (size > 100).then_some(27_000_000 * 7 + 299),
            };
            let mut out = Vec::new();
            packetizer.packets(&pes, &mut out);
            assert_eq!(out.len() % PACKET_SIZE, 0);
            let mut assembler = PesAssembler::default();
            let mut got = Vec::new();
            for (i, chunk) in out.chunks_exact(PACKET_SIZE).enumerate() {
                let bytes: &[u8; PACKET_SIZE] = chunk.try_into().unwrap();
                assert_eq!(check.check(bytes), crate::ts::Continuity::InOrder);
                let packet = Packet::parse(bytes).unwrap();
                assert_eq!((packet.pid, packet.unit_start), (0x100, i == 0));
                if i == 0 {
                    let a = packet.adaptation;
                    assert_eq!(a.map(|a| a.random_access).unwrap_or(false), pes.random_access, "size {size}");
                    assert_eq!(a.and_then(|a| a.pcr), pes.pcr, "size {size}");
                }
                assembler.push(packet.payload, packet.unit_start, &mut got).unwrap();
            }
            assembler.finish(&mut got).unwrap();
            assert_eq!(got.len(), 1, "size {size}");
            assert_eq!(got[0].payload, payload, "size {size}");
            assert_eq!((got[0].pts, got[0].dts.or(got[0].pts)), (Some(pes.pts % WRAP), Some(pes.dts % WRAP)));
        }
    }
}
