//! Program-specific information: sections reassembled from packets, and the
//! program association and program map tables (ISO/IEC 13818-1 §2.4.4).

use super::TsError;
use crate::crc::crc32_mpeg2;

/// The longest section (private sections; PSI tables stop at 1024).
pub const MAX_SECTION: usize = 4096;

/// Reassembles the sections carried on one PID.
#[derive(Debug, Default)]
pub struct SectionAssembler {
    pending: Vec<u8>,
    /// A section start has been seen, so continuation bytes belong to it.
    started: bool,
}

/// Bytes a section says it has (its header plus section_length), once
/// three bytes are known.
fn section_size(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 3).then(|| 3 + (usize::from(bytes[1] & 0x0f) << 8 | usize::from(bytes[2])))
}

impl SectionAssembler {
    /// Adds one packet's payload; complete sections are pushed onto `out`.
    /// Returns an error when bytes had to be dropped (a section cut short
    /// by the next one, or one longer than [`MAX_SECTION`]); what follows
    /// is still assembled.
    pub fn push(&mut self, payload: &[u8], unit_start: bool, out: &mut Vec<Vec<u8>>) -> Result<(), TsError> {
        let mut result = Ok(());
        let mut rest = payload;
        if unit_start {
            let Some((&pointer, tail)) = rest.split_first() else { return Ok(()) };
            let pointer = usize::from(pointer);
            if pointer > tail.len() {
                self.reset();
                return Err(TsError::Section("pointer_field past the packet"));
            }
            if self.started {
                self.pending.extend_from_slice(&tail[..pointer]);
                self.take_complete(out);
                if !self.pending.is_empty() {
                    result = Err(TsError::Section("a section was cut short by the next"));
                }
            }
            self.reset();
            self.started = true;
            rest = &tail[pointer..];
        } else if !self.started {
            return Ok(());
        }
        self.pending.extend_from_slice(rest);
        self.take_complete(out);
        if self.pending.len() > MAX_SECTION {
            self.reset();
            return Err(TsError::Section("a section longer than 4096 bytes"));
        }
        result
    }

    /// Moves every complete section out of `pending`; stops at stuffing.
    fn take_complete(&mut self, out: &mut Vec<Vec<u8>>) {
        loop {
            if self.pending.first() == Some(&0xff) {
                // Stuffing: the rest of the packet is padding.
                self.reset();
                return;
            }
            match section_size(&self.pending) {
                Some(size) if self.pending.len() >= size => {
                    let rest = self.pending.split_off(size);
                    out.push(std::mem::replace(&mut self.pending, rest));
                }
                _ => return,
            }
        }
    }

    /// Forgets a partial section (after a discontinuity).
    pub fn reset(&mut self) {
        self.pending.clear();
        self.started = false;
    }
}

/// The fixed header of a long-form section, after its CRC is checked:
/// (the 16-bit id, version, the body between header and CRC).
pub(crate) fn long_section_body(section: &[u8], table_id: u8) -> Result<(u16, u8, &[u8]), TsError> {
    long_section(section, table_id)
}

fn long_section(section: &[u8], table_id: u8) -> Result<(u16, u8, &[u8]), TsError> {
    if section.first() != Some(&table_id) {
        return Err(TsError::Section("unexpected table_id"));
    }
    let size = section_size(section).ok_or(TsError::Section("section shorter than its header"))?;
    if section.len() < size || size < 12 {
        return Err(TsError::Section("section shorter than its section_length"));
    }
    let section = &section[..size];
    if section[1] & 0x80 == 0 {
        return Err(TsError::Section("PSI table without section_syntax_indicator"));
    }
    if crc32_mpeg2(section) != 0 {
        return Err(TsError::Crc { table_id });
    }
    let id = u16::from_be_bytes([section[3], section[4]]);
    let version = (section[5] >> 1) & 0x1f;
    Ok((id, version, &section[8..size - 4]))
}

/// A program association table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pat {
    /// transport_stream_id.
    pub transport_stream_id: u16,
    /// version_number.
    pub version: u8,
    /// (program_number, program_map_PID); program 0 is the network PID.
    pub programs: Vec<(u16, u16)>,
}

impl Pat {
    /// Parses a PAT section (table_id 0x00), CRC checked.
    pub fn parse(section: &[u8]) -> Result<Pat, TsError> {
        let (transport_stream_id, version, body) = long_section(section, 0x00)?;
        let programs = body
            .chunks_exact(4)
            .map(|e| (u16::from_be_bytes([e[0], e[1]]), u16::from_be_bytes([e[2], e[3]]) & 0x1fff))
            .collect();
        Ok(Pat { transport_stream_id, version, programs })
    }
}

/// One elementary stream of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmtStream {
    /// stream_type (0x1B H.264, 0x24 HEVC, 0x0F AAC, 0x86 SCTE-35, ...).
    pub stream_type: u8,
    /// elementary_PID.
    pub pid: u16,
    /// The ES_info descriptors, raw.
    pub descriptors: Vec<u8>,
}

/// A program map table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmt {
    /// program_number.
    pub program: u16,
    /// version_number.
    pub version: u8,
    /// PCR_PID.
    pub pcr_pid: u16,
    /// The program_info descriptors, raw.
    pub descriptors: Vec<u8>,
    /// The elementary streams in table order.
    pub streams: Vec<PmtStream>,
}

fn length12(b: &[u8]) -> usize {
    usize::from(b[0] & 0x0f) << 8 | usize::from(b[1])
}

impl Pmt {
    /// Parses a PMT section (table_id 0x02), CRC checked.
    pub fn parse(section: &[u8]) -> Result<Pmt, TsError> {
        let (program, version, body) = long_section(section, 0x02)?;
        let short = TsError::Section("PMT shorter than its lengths");
        if body.len() < 4 {
            return Err(short);
        }
        let pcr_pid = u16::from_be_bytes([body[0], body[1]]) & 0x1fff;
        let info = length12(&body[2..4]);
        let descriptors = body.get(4..4 + info).ok_or(short.clone())?.to_vec();
        let mut rest = &body[4 + info..];
        let mut streams = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 5 {
                return Err(short);
            }
            let len = length12(&rest[3..5]);
            let descriptors = rest.get(5..5 + len).ok_or(short.clone())?.to_vec();
            streams.push(PmtStream {
                stream_type: rest[0],
                pid: u16::from_be_bytes([rest[1], rest[2]]) & 0x1fff,
                descriptors,
            });
            rest = &rest[5 + len..];
        }
        Ok(Pmt { program, version, pcr_pid, descriptors, streams })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
        let crc = crc32_mpeg2(&section);
        section.extend(crc.to_be_bytes());
        section
    }

    fn pat() -> Vec<u8> {
        // TSID 1, version 0, program 1 on PID 0x1000.
        with_crc(vec![0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00])
    }

    #[test]
    fn pat_and_pmt() {
        assert_eq!(Pat::parse(&pat()).unwrap().programs, [(1, 0x1000)]);
        // Program 1, PCR on 0x100; H.264 on 0x100, SCTE-35 on 0x1f0 with a
        // CUEI registration descriptor.
        let pmt = with_crc(vec![
            0x02, 0xb0, 0x1d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x86,
            0xe1, 0xf0, 0xf0, 0x06, 0x05, 0x04, b'C', b'U', b'E', b'I',
        ]);
        let pmt = Pmt::parse(&pmt).unwrap();
        assert_eq!(pmt.pcr_pid, 0x100);
        assert_eq!(
            pmt.streams.iter().map(|s| (s.stream_type, s.pid)).collect::<Vec<_>>(),
            [(0x1b, 0x100), (0x86, 0x1f0)]
        );
        assert_eq!(pmt.streams[1].descriptors, [0x05, 0x04, b'C', b'U', b'E', b'I']);
    }

    #[test]
    fn a_bad_crc_is_refused() {
        let mut bad = pat();
        bad[9] ^= 1;
        assert_eq!(Pat::parse(&bad).unwrap_err(), TsError::Crc { table_id: 0 });
    }

    #[test]
    fn sections_across_packets_and_several_in_one() {
        let section = pat();
        let mut out = Vec::new();
        let mut a = SectionAssembler::default();
        // Split across two payloads.
        let mut first = vec![0u8];
        first.extend(&section[..5]);
        a.push(&first, true, &mut out).unwrap();
        assert!(out.is_empty());
        a.push(&section[5..], false, &mut out).unwrap();
        assert_eq!(out, std::slice::from_ref(&section));
        // Two in one payload, then stuffing.
        out.clear();
        let mut both = vec![0u8];
        both.extend(&section);
        both.extend(&section);
        both.extend([0xff; 20]);
        a.push(&both, true, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        // Continuation bytes before any start are ignored.
        let mut fresh = SectionAssembler::default();
        fresh.push(&section, false, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        // A pointer_field past the end is an error, not a panic.
        assert!(fresh.push(&[200, 1, 2], true, &mut out).is_err());
    }
}
