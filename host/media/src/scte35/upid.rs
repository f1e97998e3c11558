//! segmentation_upid(): the unique programme identifiers of SCTE 35 2023
//! table 22 (segmentation_upid_type 0x00 to 0x11).

use super::Scte35Error;
use super::bits::{BitReader, BitWriter};
use super::text::{Text, hex_bytes};
use serde::{Deserialize, Serialize};

/// A segmentation UPID. Types with a fixed length whose length field
/// disagrees, and reserved types, are kept as [`Upid::Other`] with their
/// bytes, so a cue is never changed by reading and writing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "upid_type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Upid {
    /// 0x00: no UPID.
    NotUsed,
    /// 0x01: user defined (deprecated).
    UserDefined {
        /// The bytes.
        value: Text,
    },
    /// 0x02: ISCI, 8 characters (deprecated).
    Isci {
        /// The code.
        value: Text,
    },
    /// 0x03: Ad-ID, 12 characters.
    AdId {
        /// The code.
        value: Text,
    },
    /// 0x04: SMPTE 330 UMID, 32 bytes.
    Umid {
        /// The UMID.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
    /// 0x05: ISAN, 8 bytes (deprecated).
    IsanDeprecated {
        /// The ISAN.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
    /// 0x06: versioned ISAN, 12 bytes.
    Isan {
        /// The ISAN.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
    /// 0x07: Tribune Media Systems programme identifier, 12 characters.
    Tid {
        /// The identifier.
        value: Text,
    },
    /// 0x08: Turner airing ID, 64 bits.
    AiringId {
        /// The identifier.
        value: u64,
    },
    /// 0x09: CableLabs ADI identifier.
    Adi {
        /// The identifier.
        value: Text,
    },
    /// 0x0A: EIDR in compact binary form, 12 bytes.
    Eidr {
        /// The EIDR.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
    /// 0x0B: ATSC content identifier (A/57B).
    Atsc(AtscContentId),
    /// 0x0C: managed private UPID.
    Mpu {
        /// The 32-bit registered format identifier.
        format_identifier: u32,
        /// The private data.
        #[serde(with = "hex_bytes")]
        private_data: Vec<u8>,
    },
    /// 0x0D: several UPIDs.
    Mid {
        /// The UPIDs, in order.
        upids: Vec<Upid>,
    },
    /// 0x0E: advertising information (ADS).
    AdsInfo {
        /// The text.
        value: Text,
    },
    /// 0x0F: a URI.
    Uri {
        /// The URI.
        value: Text,
    },
    /// 0x10: a UUID, 16 bytes.
    Uuid {
        /// The UUID.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
    /// 0x11: a segment content identifier (SCR).
    Scr {
        /// The identifier.
        value: Text,
    },
    /// A reserved type, or a fixed-length type of the wrong length.
    Other {
        /// segmentation_upid_type.
        type_code: u8,
        /// The bytes.
        #[serde(with = "hex_bytes")]
        value: Vec<u8>,
    },
}

/// UPID type 0x0B, ATSC A/57B content identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtscContentId {
    /// Transport stream id.
    pub tsid: u16,
    /// The 2 reserved bits (kept, since encoders differ).
    pub reserved: u8,
    /// Hour of the day (UTC) the identifier stops being valid.
    pub end_of_day: u8,
    /// Days the identifier is unique for.
    pub unique_for: u16,
    /// The content identifier.
    pub content_id: Text,
}

impl Upid {
    /// segmentation_upid_type.
    pub fn type_code(&self) -> u8 {
        match self {
            Upid::NotUsed => 0x00,
            Upid::UserDefined { .. } => 0x01,
            Upid::Isci { .. } => 0x02,
            Upid::AdId { .. } => 0x03,
            Upid::Umid { .. } => 0x04,
            Upid::IsanDeprecated { .. } => 0x05,
            Upid::Isan { .. } => 0x06,
            Upid::Tid { .. } => 0x07,
            Upid::AiringId { .. } => 0x08,
            Upid::Adi { .. } => 0x09,
            Upid::Eidr { .. } => 0x0A,
            Upid::Atsc(_) => 0x0B,
            Upid::Mpu { .. } => 0x0C,
            Upid::Mid { .. } => 0x0D,
            Upid::AdsInfo { .. } => 0x0E,
            Upid::Uri { .. } => 0x0F,
            Upid::Uuid { .. } => 0x10,
            Upid::Scr { .. } => 0x11,
            Upid::Other { type_code, .. } => *type_code,
        }
    }

    /// Reads segmentation_upid_type, _length and the UPID.
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Upid, Scte35Error> {
        let type_code = r.u8("segmentation_upid_type")?;
        let len = usize::from(r.u8("segmentation_upid_length")?);
        let bytes = r.bytes(len, "segmentation_upid")?;
        Upid::from_bytes(type_code, bytes)
    }

    fn from_bytes(type_code: u8, b: &[u8]) -> Result<Upid, Scte35Error> {
        let text = || Text(b.to_vec());
        let other = || Upid::Other { type_code, value: b.to_vec() };
        let fixed = |n: usize, make: fn(&[u8]) -> Upid| if b.len() == n { make(b) } else { other() };
        Ok(match type_code {
            0x00 if b.is_empty() => Upid::NotUsed,
            0x01 => Upid::UserDefined { value: text() },
            0x02 => fixed(8, |b| Upid::Isci { value: Text(b.to_vec()) }),
            0x03 => fixed(12, |b| Upid::AdId { value: Text(b.to_vec()) }),
            0x04 => fixed(32, |b| Upid::Umid { value: b.to_vec() }),
            0x05 => fixed(8, |b| Upid::IsanDeprecated { value: b.to_vec() }),
            0x06 => fixed(12, |b| Upid::Isan { value: b.to_vec() }),
            0x07 => fixed(12, |b| Upid::Tid { value: Text(b.to_vec()) }),
            0x08 => match <[u8; 8]>::try_from(b) {
                Ok(a) => Upid::AiringId { value: u64::from_be_bytes(a) },
                Err(_) => other(),
            },
            0x09 => Upid::Adi { value: text() },
            0x0A => fixed(12, |b| Upid::Eidr { value: b.to_vec() }),
            0x0B if b.len() >= 4 => Upid::Atsc(AtscContentId {
                tsid: u16::from_be_bytes([b[0], b[1]]),
                reserved: b[2] >> 6,
                end_of_day: (b[2] >> 1) & 0x1F,
                unique_for: (u16::from(b[2] & 1) << 8) | u16::from(b[3]),
                content_id: Text(b[4..].to_vec()),
            }),
            0x0C if b.len() >= 4 => Upid::Mpu {
                format_identifier: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                private_data: b[4..].to_vec(),
            },
            0x0D => {
                let mut r = BitReader::new(b);
                let mut upids = Vec::new();
                while r.remaining_bytes() > 0 {
                    let upid = Upid::read(&mut r)?;
                    if matches!(upid, Upid::Mid { .. }) {
                        // A MID inside a MID is not allowed; keep the bytes.
                        return Ok(other());
                    }
                    upids.push(upid);
                }
                Upid::Mid { upids }
            }
            0x0E => Upid::AdsInfo { value: text() },
            0x0F => Upid::Uri { value: text() },
            0x10 => fixed(16, |b| Upid::Uuid { value: b.to_vec() }),
            0x11 => Upid::Scr { value: text() },
            _ => other(),
        })
    }

    /// Writes segmentation_upid_type, _length and the UPID.
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<(), Scte35Error> {
        let body = self.body()?;
        let len = u8::try_from(body.len()).map_err(|_| Scte35Error::OutOfRange {
            field: "segmentation_upid_length",
            value: body.len() as u64,
            bits: 8,
        })?;
        w.bits(8, u64::from(self.type_code()));
        w.bits(8, u64::from(len));
        w.bytes(&body);
        Ok(())
    }

    fn body(&self) -> Result<Vec<u8>, Scte35Error> {
        let fixed = |v: &[u8], n: usize| {
            if v.len() == n {
                Ok(v.to_vec())
            } else {
                Err(Scte35Error::Length { field: "segmentation_upid", declared: n, actual: v.len() })
            }
        };
        Ok(match self {
            Upid::NotUsed => Vec::new(),
            Upid::Isci { value } => fixed(&value.0, 8)?,
            Upid::AdId { value } | Upid::Tid { value } => fixed(&value.0, 12)?,
            Upid::Umid { value } => fixed(value, 32)?,
            Upid::IsanDeprecated { value } => fixed(value, 8)?,
            Upid::Isan { value } | Upid::Eidr { value } => fixed(value, 12)?,
            Upid::Uuid { value } => fixed(value, 16)?,
            Upid::AiringId { value } => value.to_be_bytes().to_vec(),
            Upid::UserDefined { value }
            | Upid::Adi { value }
            | Upid::AdsInfo { value }
            | Upid::Uri { value }
            | Upid::Scr { value } => value.0.clone(),
            Upid::Atsc(a) => {
                let mut w = BitWriter::new();
                super::bits::check_width(u64::from(a.reserved), 2, "atsc reserved")?;
                super::bits::check_width(u64::from(a.end_of_day), 5, "end_of_day")?;
                super::bits::check_width(u64::from(a.unique_for), 9, "unique_for")?;
                w.bits(16, u64::from(a.tsid));
                w.bits(2, u64::from(a.reserved));
                w.bits(5, u64::from(a.end_of_day));
                w.bits(9, u64::from(a.unique_for));
                w.bytes(&a.content_id.0);
                w.into_bytes()
            }
            Upid::Mpu { format_identifier, private_data } => {
                let mut v = format_identifier.to_be_bytes().to_vec();
                v.extend_from_slice(private_data);
                v
            }
            Upid::Mid { upids } => {
                let mut w = BitWriter::new();
                for upid in upids {
                    if matches!(upid, Upid::Mid { .. }) {
                        return Err(Scte35Error::Inconsistent {
                            field: "segmentation_upid",
                            reason: "a MID inside a MID",
                        });
                    }
                    upid.write(&mut w)?;
                }
                w.into_bytes()
            }
            Upid::Other { value, .. } => value.clone(),
        })
    }
}
