//! Writing transport streams: PSI sections (PAT, PMT, SDT) with their
//! CRC, and any section cut into 188-byte packets on its PID with the
//! continuity counter kept (ISO/IEC 13818-1 §2.4.4; ETSI EN 300 468 §5.2.3
//! for the SDT). What the distributor needs to put tables and SCTE-35
//! sections back into a stream it rewrites.

use super::packet::{PACKET_SIZE, SYNC_BYTE};
use super::psi::{Pat, Pmt};
use crate::crc::crc32_mpeg2;

/// A long-form section: table_id, the 16-bit id, version, then `body`,
/// with section_length and CRC_32 filled in. `private` sets the
/// private_indicator (0 for PAT/PMT, 1 for the SDT).
fn long_section(table_id: u8, private: bool, id: u16, version: u8, body: &[u8]) -> Vec<u8> {
    let length = 5 + body.len() + 4;
    let mut s = Vec::with_capacity(3 + length);
    s.push(table_id);
    // section_syntax_indicator, private_indicator, reserved '11', length.
    s.push(0x80 | if private { 0x40 } else { 0 } | 0x30 | ((length >> 8) as u8 & 0x0f));
    s.push(length as u8);
    s.extend(id.to_be_bytes());
    // reserved '11', version, current_next_indicator 1.
    s.push(0xc0 | (version & 0x1f) << 1 | 1);
    s.extend([0, 0]); // section_number, last_section_number
    s.extend(body);
    let crc = crc32_mpeg2(&s);
    s.extend(crc.to_be_bytes());
    s
}

fn pid_bytes(pid: u16) -> [u8; 2] {
    (0xe000 | (pid & 0x1fff)).to_be_bytes()
}

fn length_bytes(len: usize) -> [u8; 2] {
    (0xf000 | (len as u16 & 0x0fff)).to_be_bytes()
}

impl Pat {
    /// The PAT as one section, CRC included.
    pub fn to_section(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.programs.len() * 4);
        for (program, pid) in &self.programs {
            body.extend(program.to_be_bytes());
            body.extend(pid_bytes(*pid));
        }
        long_section(0x00, false, self.transport_stream_id, self.version, &body)
    }
}

impl Pmt {
    /// The PMT as one section, CRC included.
    pub fn to_section(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(pid_bytes(self.pcr_pid));
        body.extend(length_bytes(self.descriptors.len()));
        body.extend(&self.descriptors);
        for s in &self.streams {
            body.push(s.stream_type);
            body.extend(pid_bytes(s.pid));
            body.extend(length_bytes(s.descriptors.len()));
            body.extend(&s.descriptors);
        }
        long_section(0x02, false, self.program, self.version, &body)
    }
}

/// One service of a service description table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtService {
    /// service_id (the program_number in the PAT).
    pub service_id: u16,
    /// service_type (0x01 digital television, 0x02 radio, 0x19 HD TV).
    pub service_type: u8,
    /// service_provider_name.
    pub provider: String,
    /// service_name.
    pub name: String,
}

/// A service description table, actual transport stream (table_id 0x42),
/// with one service_descriptor per service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdt {
    /// transport_stream_id.
    pub transport_stream_id: u16,
    /// original_network_id.
    pub original_network_id: u16,
    /// version_number.
    pub version: u8,
    /// The services.
    pub services: Vec<SdtService>,
}

/// The PID the SDT is carried on.
pub const SDT_PID: u16 = 0x11;

/// Bytes of a DVB string: at most 255, and only ASCII so that no character
/// table selector is needed (EN 300 468 annex A).
fn dvb_text(s: &str) -> Vec<u8> {
    s.bytes().filter(|b| (0x20..0x7f).contains(b)).take(255).collect()
}

impl Sdt {
    /// The SDT as one section, CRC included. Names are written as ASCII
    /// (other characters are left out), at most 255 bytes each.
    pub fn to_section(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.original_network_id.to_be_bytes());
        body.push(0xff); // reserved_future_use
        for s in &self.services {
            let (provider, name) = (dvb_text(&s.provider), dvb_text(&s.name));
            let mut descriptor = vec![0x48, 0, s.service_type, provider.len() as u8];
            descriptor.extend(&provider);
            descriptor.push(name.len() as u8);
            descriptor.extend(&name);
            descriptor[1] = (descriptor.len() - 2) as u8;
            body.extend(s.service_id.to_be_bytes());
            body.push(0xfc); // reserved, EIT_schedule 0, EIT_present_following 0
            // running_status 4 (running), free_CA_mode 0, loop length.
            body.extend((0x8000u16 | descriptor.len() as u16 & 0x0fff).to_be_bytes());
            body.extend(descriptor);
        }
        long_section(0x42, true, self.transport_stream_id, self.version, &body)
    }

    /// Parses an SDT section (table_id 0x42), CRC checked. Services without
    /// a service_descriptor get empty names.
    pub fn parse(section: &[u8]) -> Result<Sdt, super::TsError> {
        let short = super::TsError::Section("SDT shorter than its lengths");
        let (transport_stream_id, version, body) = super::psi::long_section_body(section, 0x42)?;
        let original_network_id =
            u16::from_be_bytes([*body.first().ok_or(short.clone())?, *body.get(1).ok_or(short.clone())?]);
        let mut rest = body.get(3..).ok_or(short.clone())?;
        let mut services = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 5 {
                return Err(short);
            }
            let service_id = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(rest[3] & 0x0f) << 8 | usize::from(rest[4]);
            let mut descriptors = rest.get(5..5 + len).ok_or(short.clone())?;
            let mut service = SdtService { service_id, service_type: 0, provider: String::new(), name: String::new() };
            while descriptors.len() >= 2 {
                let (tag, dlen) = (descriptors[0], usize::from(descriptors[1]));
                let d = descriptors.get(2..2 + dlen).ok_or(short.clone())?;
                if tag == 0x48 && !d.is_empty() {
                    service.service_type = d[0];
                    let plen = usize::from(*d.get(1).ok_or(short.clone())?);
                    let provider = d.get(2..2 + plen).ok_or(short.clone())?;
                    let nlen = usize::from(*d.get(2 + plen).ok_or(short.clone())?);
                    let name = d.get(3 + plen..3 + plen + nlen).ok_or(short.clone())?;
                    service.provider = String::from_utf8_lossy(provider).into_owned();
                    service.name = String::from_utf8_lossy(name).into_owned();
                }
                descriptors = &descriptors[2 + dlen..];
            }
            services.push(service);
            rest = &rest[5 + len..];
        }
        Ok(Sdt { transport_stream_id, original_network_id, version, services })
    }
}

/// Cuts sections into packets on one PID, keeping its continuity counter.
#[derive(Debug, Clone)]
pub struct SectionPacketizer {
    pid: u16,
    continuity: u8,
}

impl SectionPacketizer {
    /// A packetizer for `pid` whose first packet has continuity counter
    /// `continuity` (pass the next counter when taking over a PID).
    pub fn new(pid: u16, continuity: u8) -> SectionPacketizer {
        SectionPacketizer { pid: pid & 0x1fff, continuity: continuity & 0x0f }
    }

    /// The packets carrying `section`: the first with
    /// payload_unit_start_indicator and a pointer_field of 0, the last
    /// stuffed with 0xFF.
    pub fn packets(&mut self, section: &[u8]) -> Vec<[u8; PACKET_SIZE]> {
        let mut out = Vec::new();
        let mut rest = section;
        let mut first = true;
        loop {
            let mut p = [0xffu8; PACKET_SIZE];
            p[0] = SYNC_BYTE;
            let [hi, lo] = self.pid.to_be_bytes();
            p[1] = if first { 0x40 } else { 0 } | hi;
            p[2] = lo;
            // No adaptation field, payload only.
            p[3] = 0x10 | self.continuity;
            self.continuity = (self.continuity + 1) & 0x0f;
            let mut at = 4;
            if first {
                p[4] = 0; // pointer_field
                at = 5;
            }
            let n = rest.len().min(PACKET_SIZE - at);
            p[at..at + n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            out.push(p);
            first = false;
            if rest.is_empty() {
                return out;
            }
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
    use super::super::{Packet, PmtStream, SectionAssembler};
    use super::*;

    #[test]
    fn tables_round_trip_and_sections_cross_packets() {
        let pat = Pat { transport_stream_id: 7, version: 3, programs: vec![(1, 0x1000), (2, 0x1010)] };
        assert_eq!(Pat::parse(&pat.to_section()).unwrap(), pat);
        let pmt = Pmt {
            program: 1,
            version: 1,
            pcr_pid: 0x100,
            descriptors: vec![0x05, 0x04, b'C', b'U', b'E', b'I'],
            streams: vec![
                PmtStream { stream_type: 0x1b, pid: 0x100, descriptors: vec![] },
                PmtStream { stream_type: 0x86, pid: 0x1f0, descriptors: vec![0x8a, 0x01, 0x00] },
            ],
        };
        assert_eq!(Pmt::parse(&pmt.to_section()).unwrap(), pmt);
        let sdt = Sdt {
            transport_stream_id: 7,
            original_network_id: 0xff01,
            version: 0,
            services: vec![SdtService {
                service_id: 1,
                service_type: 1,
                provider: "Stagebox".into(),
                name: "Studio A".into(),
            }],
        };
        assert_eq!(Sdt::parse(&sdt.to_section()).unwrap(), sdt);

        // A 600-byte private section takes four packets, counters running on.
        let mut big = vec![0xfc, 0x32, 0x55];
        big.extend((0..597).map(|i| i as u8));
        let mut p = SectionPacketizer::new(0x1f0, 14);
        let packets = p.packets(&big);
        assert_eq!(packets.len(), 4);
        assert_eq!(p.next_continuity(), 2);
        let mut assembler = SectionAssembler::default();
        let mut got = Vec::new();
        for (i, bytes) in packets.iter().enumerate() {
            let pkt = Packet::parse(bytes).unwrap();
            assert_eq!((pkt.pid, pkt.unit_start, pkt.continuity), (0x1f0, i == 0, ((14 + i) % 16) as u8));
            assembler.push(pkt.payload, pkt.unit_start, &mut got).unwrap();
        }
        assert_eq!(got, [big]);
    }
}
