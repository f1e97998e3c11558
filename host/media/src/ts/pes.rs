//! Packetised elementary stream packets (ISO/IEC 13818-1 §2.4.3.6):
//! reassembled from transport packets, with their PTS and DTS.

use super::TsError;

/// The largest PES packet kept (a very large coded frame); more is dropped.
pub const MAX_PES: usize = 16 << 20;

/// One PES packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pes {
    /// stream_id (0xE0–0xEF video, 0xC0–0xDF audio, 0xBD private 1).
    pub stream_id: u8,
    /// Presentation time stamp, 90 kHz, 33 bits as carried.
    pub pts: Option<u64>,
    /// Decoding time stamp, 90 kHz, 33 bits as carried.
    pub dts: Option<u64>,
    /// data_alignment_indicator.
    pub aligned: bool,
    /// The elementary stream bytes.
    pub payload: Vec<u8>,
}

/// A 33-bit timestamp from its 5-byte field.
fn timestamp(b: &[u8]) -> u64 {
    u64::from((b[0] >> 1) & 0x07) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

/// Stream ids whose packets have no optional header (§2.4.3.7).
fn headerless(stream_id: u8) -> bool {
    matches!(stream_id, 0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xf2 | 0xf8 | 0xff)
}

impl Pes {
    /// Parses a whole PES packet.
    pub fn parse(bytes: &[u8]) -> Result<Pes, TsError> {
        if bytes.len() < 6 || bytes[..3] != [0, 0, 1] {
            return Err(TsError::Pes("no packet_start_code_prefix"));
        }
        let stream_id = bytes[3];
        let length = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
        let end = if length == 0 { bytes.len() } else { (6 + length).min(bytes.len()) };
        if headerless(stream_id) {
            return Ok(Pes { stream_id, pts: None, dts: None, aligned: false, payload: bytes[6..end].to_vec() });
        }
        if end < 9 || bytes[6] >> 6 != 0b10 {
            return Err(TsError::Pes("bad optional PES header"));
        }
        let header_len = usize::from(bytes[8]);
        let data = 9 + header_len;
        if data > end {
            return Err(TsError::Pes("PES header longer than the packet"));
        }
        let flags = bytes[7] >> 6;
        let fields = &bytes[9..data];
        let (pts, dts) = match flags {
            0b10 if fields.len() >= 5 => (Some(timestamp(&fields[..5])), None),
            0b11 if fields.len() >= 10 => (Some(timestamp(&fields[..5])), Some(timestamp(&fields[5..10]))),
            0b00 => (None, None),
            _ => return Err(TsError::Pes("PTS_DTS_flags without room for them")),
        };
        Ok(Pes { stream_id, pts, dts, aligned: bytes[6] & 0x04 != 0, payload: bytes[data..end].to_vec() })
    }
}

/// Reassembles the PES packets of one PID.
#[derive(Debug, Default)]
pub struct PesAssembler {
    pending: Vec<u8>,
    started: bool,
}

impl PesAssembler {
    /// Adds one packet's payload; complete PES packets are pushed onto `out`.
    pub fn push(&mut self, payload: &[u8], unit_start: bool, out: &mut Vec<Pes>) -> Result<(), TsError> {
        let mut result = Ok(());
        if unit_start {
            if self.started {
                result = self.finish(out);
            }
            self.started = true;
        } else if !self.started {
            return Ok(());
        }
        if self.pending.len() + payload.len() > MAX_PES {
            self.reset();
            return Err(TsError::Pes("PES packet larger than 16 MiB"));
        }
        self.pending.extend_from_slice(payload);
        // A packet that says its length is done when that much has come.
        if self.pending.len() >= 6 {
            let length = usize::from(u16::from_be_bytes([self.pending[4], self.pending[5]]));
            if length != 0 && self.pending.len() >= 6 + length {
                let r = self.finish(out);
                return result.and(r);
            }
        }
        result
    }

    /// Ends the packet being assembled (at the end of the stream).
    pub fn finish(&mut self, out: &mut Vec<Pes>) -> Result<(), TsError> {
        let bytes = std::mem::take(&mut self.pending);
        self.started = false;
        if bytes.is_empty() {
            return Ok(());
        }
        out.push(Pes::parse(&bytes)?);
        Ok(())
    }

    /// Forgets a partial packet (after lost data).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.started = false;
    }
}

/// Extends 33-bit 90 kHz timestamps into a timeline that does not wrap
/// (every 26.5 hours): each value is placed nearest the one before.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timeline {
    last: Option<u64>,
}

/// 2^33: where 90 kHz timestamps wrap.
pub const WRAP: u64 = 1 << 33;

/// Nanoseconds (a grain's TAI time, say) as 90 kHz ticks, not wrapped:
/// take `% WRAP` for a 33-bit PTS.
pub fn ns_to_ticks(ns: u64) -> u64 {
    (u128::from(ns) * 90_000 / 1_000_000_000) as u64
}

/// 90 kHz ticks as nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 100_000 / 9) as u64
}

/// 90 kHz ticks from `from` forward to `to` (33-bit timestamps), across
/// the wrap: a `to` just behind `from` is almost [`WRAP`] ahead.
pub fn ticks_forward(from: u64, to: u64) -> u64 {
    to.wrapping_sub(from) % WRAP
}

/// 90 kHz ticks from `from` to `to` the shorter way round the 33-bit
/// wrap: negative when `to` is behind.
pub fn ticks_between(from: u64, to: u64) -> i64 {
    let ahead = ticks_forward(from, to);
    if ahead > WRAP / 2 { ahead as i64 - WRAP as i64 } else { ahead as i64 }
}

impl Timeline {
    /// The extended value of `ts` (33 bits).
    pub fn extend(&mut self, ts: u64) -> u64 {
        let ts = ts % WRAP;
        let value = match self.last {
            None => ts,
            Some(last) => {
                let base = last - last % WRAP;
                [base.checked_sub(WRAP), Some(base), base.checked_add(WRAP)]
                    .into_iter()
                    .flatten()
                    .map(|b| b + ts)
                    .min_by_key(|v| v.abs_diff(last))
                    .unwrap_or(ts)
            }
        };
        self.last = Some(value);
        value
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pts_field(prefix: u8, ts: u64) -> [u8; 5] {
        [
            prefix << 4 | ((ts >> 29) as u8 & 0x0e) | 1,
            (ts >> 22) as u8,
            ((ts >> 14) as u8 & 0xfe) | 1,
            (ts >> 7) as u8,
            ((ts << 1) as u8) | 1,
        ]
    }

    #[test]
    fn pts_and_dts() {
        let (pts, dts) = (WRAP - 1, 123_456_789);
        let mut p = vec![0, 0, 1, 0xe0, 0, 0, 0x84, 0xc0, 10];
        p.extend(pts_field(3, pts));
        p.extend(pts_field(1, dts));
        p.extend(b"frame");
        let pes = Pes::parse(&p).unwrap();
        assert_eq!((pes.pts, pes.dts, pes.aligned), (Some(pts), Some(dts), true));
        assert_eq!(pes.payload, b"frame");
    }

    #[test]
    fn assembled_by_length_or_by_the_next_start() {
        let mut a = PesAssembler::default();
        let mut out = Vec::new();
        // Length 8: header (3) + "abcde".
        a.push(&[0, 0, 1, 0xc0, 0, 8, 0x80, 0, 0, b'a', b'b'], true, &mut out).unwrap();
        assert!(out.is_empty());
        a.push(b"cde", false, &mut out).unwrap();
        assert_eq!(out[0].payload, b"abcde");
        // Length 0 (video): ends at the next start.
        a.push(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 1], true, &mut out).unwrap();
        a.push(&[2], false, &mut out).unwrap();
        a.push(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 3], true, &mut out).unwrap();
        assert_eq!(out[1].payload, [1, 2]);
        a.finish(&mut out).unwrap();
        assert_eq!(out[2].payload, [3]);
        assert!(Pes::parse(&[0, 0, 2, 0xe0, 0, 0]).is_err());
        assert!(Pes::parse(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 40]).is_err());
    }

    #[test]
    fn timestamps_unwrap() {
        let mut t = Timeline::default();
        assert_eq!(t.extend(WRAP - 10), WRAP - 10);
        assert_eq!(t.extend(5), WRAP + 5);
        assert_eq!(t.extend(WRAP - 3), WRAP - 3, "a small step back stays before the wrap");
        assert_eq!(t.extend(100), WRAP + 100);
    }
}
