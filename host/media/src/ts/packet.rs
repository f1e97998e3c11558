//! One 188-byte transport stream packet (ISO/IEC 13818-1 §2.4.3.2).

use super::TsError;

/// Bytes in a transport stream packet.
pub const PACKET_SIZE: usize = 188;
/// The first byte of every packet.
pub const SYNC_BYTE: u8 = 0x47;
/// The null packet PID.
pub const NULL_PID: u16 = 0x1FFF;

/// The adaptation field's flags and PCR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adaptation {
    /// discontinuity_indicator: continuity and time bases restart here.
    pub discontinuity: bool,
    /// random_access_indicator: a decoder can start here.
    pub random_access: bool,
    /// The program clock reference, in 27 MHz ticks.
    pub pcr: Option<u64>,
}

/// A parsed packet, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// transport_error_indicator: the packet is known to be damaged.
    pub transport_error: bool,
    /// payload_unit_start_indicator: a PES packet or section starts here.
    pub unit_start: bool,
    /// The packet's PID.
    pub pid: u16,
    /// transport_scrambling_control (0: clear).
    pub scrambling: u8,
    /// The 4-bit continuity counter.
    pub continuity: u8,
    /// Whether the packet carries a payload (the counter only advances then).
    pub has_payload: bool,
    /// The adaptation field, when present.
    pub adaptation: Option<Adaptation>,
    /// The payload bytes (empty when there is none).
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet.
    pub fn parse(bytes: &'a [u8; PACKET_SIZE]) -> Result<Packet<'a>, TsError> {
        if bytes[0] != SYNC_BYTE {
            return Err(TsError::Sync);
        }
        let pid = u16::from(bytes[1] & 0x1f) << 8 | u16::from(bytes[2]);
        let control = (bytes[3] >> 4) & 0x3;
        let (has_adaptation, has_payload) = (control & 0x2 != 0, control & 0x1 != 0);
        let mut at = 4;
        let mut adaptation = None;
        if has_adaptation {
            let len = usize::from(bytes[4]);
            // 183 at most; 0 is a single stuffing byte.
            if len > PACKET_SIZE - 5 || (has_payload && len > PACKET_SIZE - 6) {
                return Err(TsError::AdaptationLength { pid, len });
            }
            let field = &bytes[5..5 + len];
            adaptation = Some(parse_adaptation(field));
            at = 5 + len;
        }
        Ok(Packet {
            transport_error: bytes[1] & 0x80 != 0,
            unit_start: bytes[1] & 0x40 != 0,
            pid,
            scrambling: bytes[3] >> 6,
            continuity: bytes[3] & 0x0f,
            has_payload,
            adaptation,
            payload: if has_payload { &bytes[at..] } else { &[] },
        })
    }
}

fn parse_adaptation(field: &[u8]) -> Adaptation {
    let Some(&flags) = field.first() else { return Adaptation::default() };
    let pcr = (flags & 0x10 != 0 && field.len() >= 7).then(|| {
        let b = &field[1..7];
        let base = u64::from(b[0]) << 25
            | u64::from(b[1]) << 17
            | u64::from(b[2]) << 9
            | u64::from(b[3]) << 1
            | u64::from(b[4] >> 7);
        let ext = u64::from(b[4] & 1) << 8 | u64::from(b[5]);
        base * 300 + ext
    });
    Adaptation { discontinuity: flags & 0x80 != 0, random_access: flags & 0x40 != 0, pcr }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_fields_and_pcr() {
        let mut p = [0xffu8; PACKET_SIZE];
        // PUSI, PID 0x100, adaptation + payload, CC 5; adaptation of 7 bytes
        // with the PCR flag: base 1, extension 2.
        p[..12].copy_from_slice(&[0x47, 0x41, 0x00, 0x35, 7, 0x50, 0, 0, 0, 0, 0x80, 0x02]);
        let packet = Packet::parse(&p).unwrap();
        assert_eq!((packet.pid, packet.unit_start, packet.continuity), (0x100, true, 5));
        let a = packet.adaptation.unwrap();
        assert_eq!((a.random_access, a.pcr), (true, Some(302)));
        assert_eq!(packet.payload.len(), PACKET_SIZE - 12);
    }

    #[test]
    fn bad_packets_are_errors() {
        let mut p = [0u8; PACKET_SIZE];
        assert_eq!(Packet::parse(&p).unwrap_err(), TsError::Sync);
        p[..5].copy_from_slice(&[0x47, 0x00, 0x11, 0x30, 183]);
        assert!(matches!(Packet::parse(&p).unwrap_err(), TsError::AdaptationLength { pid: 0x11, len: 183 }));
        p[3] = 0x20; // adaptation only: 183 bytes is the whole packet
        assert!(Packet::parse(&p).unwrap().payload.is_empty());
    }
}
