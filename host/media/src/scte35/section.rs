//! splice_info_section() (SCTE 35 2023 §9.6).

use super::Scte35Error;
use super::bits::{BitReader, BitWriter, check_width};
use super::command::SpliceCommand;
use super::descriptor::SpliceDescriptor;
use super::text::{base64, decode_text, hex, hex_bytes};
use crate::crc::crc32_mpeg2;
use serde::{Deserialize, Serialize};

/// The largest section: section_length is 12 bits, after 3 header bytes.
const MAX_SECTION: usize = 4095 + 3;

/// A splice_info_section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpliceInfoSection {
    /// private_indicator; 0 in conforming sections, kept as read.
    #[serde(default)]
    pub private_indicator: bool,
    /// sap_type, 2 bits (3 = not specified).
    pub sap_type: u8,
    /// protocol_version (0).
    pub protocol_version: u8,
    /// pts_adjustment, 90 kHz ticks, 33 bits: added to every PTS in the
    /// command and descriptors.
    pub pts_adjustment: u64,
    /// cw_index: the control word of an encrypted section.
    pub cw_index: u8,
    /// tier, 12 bits (0xFFF = all tiers).
    pub tier: u16,
    /// splice_command_length was written as 0xFFF, the legacy "unknown";
    /// writing keeps it so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy_command_length: bool,
    /// The command and descriptors, or the encrypted bytes.
    pub payload: Payload,
}

/// What follows splice_command_length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "encrypted_packet", rename_all = "snake_case", deny_unknown_fields)]
pub enum Payload {
    /// encrypted_packet = 0.
    #[serde(rename = "false")]
    Clear {
        /// The command.
        command: SpliceCommand,
        /// The descriptor loop.
        descriptors: Vec<SpliceDescriptor>,
    },
    /// encrypted_packet = 1: reported, not decrypted. The bytes run from
    /// splice_command_type to E_CRC_32 inclusive.
    #[serde(rename = "true")]
    Encrypted {
        /// encryption_algorithm, 6 bits (1 DES-ECB, 2 DES-CBC, 3 3DES; 32+ private).
        encryption_algorithm: u8,
        /// splice_command_length as sent.
        splice_command_length: u16,
        /// The encrypted bytes.
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
}

impl SpliceInfoSection {
    /// Reads a section: table_id 0xFC through CRC_32, nothing after. The CRC
    /// is checked; lengths must agree with the bytes.
    pub fn parse(data: &[u8]) -> Result<SpliceInfoSection, Scte35Error> {
        let mut r = BitReader::new(data);
        let table_id = r.u8("table_id")?;
        if table_id != 0xFC {
            return Err(Scte35Error::TableId(table_id));
        }
        if r.flag("section_syntax_indicator")? {
            return Err(Scte35Error::Inconsistent {
                field: "section_syntax_indicator",
                reason: "is 1; SCTE-35 sections use the short form (0)",
            });
        }
        let private_indicator = r.flag("private_indicator")?;
        let sap_type = r.bits(2, "sap_type")? as u8;
        let section_length = r.bits(12, "section_length")? as usize;
        if section_length != data.len() - 3 {
            return Err(Scte35Error::SectionLength { declared: section_length, present: data.len() - 3 });
        }
        if section_length < 4 {
            return Err(Scte35Error::Truncated { field: "CRC_32" });
        }
        let body_end = data.len() - 4;
        let found = u32::from_be_bytes([data[body_end], data[body_end + 1], data[body_end + 2], data[body_end + 3]]);
        let computed = crc32_mpeg2(&data[..body_end]);
        // Fuzzing builds skip the check so mutated inputs reach the fields
        // behind it; writing computes the CRC either way.
        if found != computed && !cfg!(fuzzing) {
            return Err(Scte35Error::Crc { found, computed });
        }
        let mut r = BitReader::new(&data[3..body_end]);
        let protocol_version = r.u8("protocol_version")?;
        let encrypted = r.flag("encrypted_packet")?;
        let encryption_algorithm = r.bits(6, "encryption_algorithm")? as u8;
        let pts_adjustment = r.bits(33, "pts_adjustment")?;
        let cw_index = r.u8("cw_index")?;
        let tier = r.bits(12, "tier")? as u16;
        let command_length = r.bits(12, "splice_command_length")? as u16;
        let mut section = SpliceInfoSection {
            private_indicator,
            sap_type,
            protocol_version,
            pts_adjustment,
            cw_index,
            tier,
            legacy_command_length: command_length == 0xFFF,
            payload: Payload::Clear { command: SpliceCommand::SpliceNull, descriptors: Vec::new() },
        };
        if encrypted {
            section.payload = Payload::Encrypted {
                encryption_algorithm,
                splice_command_length: command_length,
                bytes: r.rest().to_vec(),
            };
            return Ok(section);
        }
        if encryption_algorithm != 0 {
            return Err(Scte35Error::Inconsistent {
                field: "encryption_algorithm",
                reason: "set on a section that is not encrypted",
            });
        }
        let command_type = r.u8("splice_command_type")?;
        let command = if command_length == 0xFFF {
            // Legacy: the length is not given, so the command's own syntax
            // says where it ends.
            let rest = r.rest();
            let (command, len) = SpliceCommand::read_unsized(command_type, rest)?;
            r = BitReader::new(&rest[len..]);
            command
        } else {
            SpliceCommand::read(command_type, r.bytes(usize::from(command_length), "splice_command")?)?
        };
        let loop_len = usize::from(r.u16("descriptor_loop_length")?);
        let descriptors = SpliceDescriptor::read_loop(r.bytes(loop_len, "descriptor_loop")?)?;
        if r.remaining_bytes() != 0 {
            return Err(Scte35Error::Length {
                field: "section_length",
                declared: section_length,
                actual: section_length - r.remaining_bytes(),
            });
        }
        section.payload = Payload::Clear { command, descriptors };
        Ok(section)
    }

    /// Reads a section given as base64 or hex text.
    pub fn from_text(text: &str) -> Result<SpliceInfoSection, Scte35Error> {
        SpliceInfoSection::parse(&decode_text(text)?)
    }

    /// Writes the section with its lengths and CRC_32 computed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Scte35Error> {
        check_width(u64::from(self.sap_type), 2, "sap_type")?;
        check_width(self.pts_adjustment, 33, "pts_adjustment")?;
        check_width(u64::from(self.tier), 12, "tier")?;
        let mut w = BitWriter::new();
        w.bits(8, 0xFC);
        w.flag(false);
        w.flag(self.private_indicator);
        w.bits(2, u64::from(self.sap_type));
        w.bits(12, 0); // section_length, patched below
        w.bits(8, u64::from(self.protocol_version));
        match &self.payload {
            Payload::Encrypted { encryption_algorithm, splice_command_length, bytes } => {
                check_width(u64::from(*encryption_algorithm), 6, "encryption_algorithm")?;
                check_width(u64::from(*splice_command_length), 12, "splice_command_length")?;
                w.flag(true);
                w.bits(6, u64::from(*encryption_algorithm));
                w.bits(33, self.pts_adjustment);
                w.bits(8, u64::from(self.cw_index));
                w.bits(12, u64::from(self.tier));
                w.bits(12, u64::from(*splice_command_length));
                w.bytes(bytes);
            }
            Payload::Clear { command, descriptors } => {
                w.flag(false);
                w.bits(6, 0);
                w.bits(33, self.pts_adjustment);
                w.bits(8, u64::from(self.cw_index));
                w.bits(12, u64::from(self.tier));
                let length_at = w.len() - 1;
                w.bits(12, 0); // splice_command_length, patched below
                w.bits(8, u64::from(command.command_type()));
                let command_start = w.len();
                command.write(&mut w)?;
                let command_len = w.len() - command_start;
                if self.legacy_command_length {
                    if !matches!(command.command_type(), 0x00 | 0x04..=0x07) {
                        return Err(Scte35Error::Inconsistent {
                            field: "legacy_command_length",
                            reason: "only commands whose end can be found may leave their length unknown",
                        });
                    }
                    w.patch_u12(length_at, 0xFFF);
                } else {
                    check_width(command_len as u64, 12, "splice_command_length")?;
                    w.patch_u12(length_at, command_len as u16);
                }
                let loop_at = w.len();
                w.bits(16, 0);
                for d in descriptors {
                    d.write(&mut w)?;
                }
                let loop_len = w.len() - loop_at - 2;
                check_width(loop_len as u64, 16, "descriptor_loop_length")?;
                w.patch_u16(loop_at, loop_len as u16);
            }
        }
        let section_length = w.len() + 4 - 3;
        if section_length + 3 > MAX_SECTION {
            return Err(Scte35Error::OutOfRange { field: "section_length", value: section_length as u64, bits: 12 });
        }
        w.patch_u12(1, section_length as u16);
        let crc = crc32_mpeg2(w.as_slice());
        w.bits(32, u64::from(crc));
        Ok(w.into_bytes())
    }

    /// The section as base64 (as HLS tags and DASH events carry it).
    pub fn to_base64(&self) -> Result<String, Scte35Error> {
        Ok(base64(&self.to_bytes()?))
    }

    /// The section as lower-case hex with a `0x` prefix.
    pub fn to_hex(&self) -> Result<String, Scte35Error> {
        Ok(format!("0x{}", hex(&self.to_bytes()?)))
    }

    /// The command, unless the section is encrypted.
    pub fn command(&self) -> Option<&SpliceCommand> {
        match &self.payload {
            Payload::Clear { command, .. } => Some(command),
            Payload::Encrypted { .. } => None,
        }
    }

    /// The descriptors (none for an encrypted section).
    pub fn descriptors(&self) -> &[SpliceDescriptor] {
        match &self.payload {
            Payload::Clear { descriptors, .. } => descriptors,
            Payload::Encrypted { .. } => &[],
        }
    }
}
