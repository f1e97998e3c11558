//! What can go wrong reading or writing a splice_info_section.

/// An SCTE-35 section could not be read or written. Every variant names the
/// field at fault so an operator can find it in the cue.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Scte35Error {
    /// The data ended inside a field.
    #[error("section ends inside {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// The first byte is not SCTE-35's table_id 0xFC.
    #[error("table_id is {0:#04x}, not 0xfc")]
    TableId(u8),
    /// section_length disagrees with the bytes given.
    #[error("section_length says {declared} bytes follow, but {present} do")]
    SectionLength {
        /// What the field says.
        declared: usize,
        /// What is there.
        present: usize,
    },
    /// The CRC_32 does not match the section.
    #[error("CRC_32 is {found:#010x}, the section's is {computed:#010x}")]
    Crc {
        /// The CRC in the section.
        found: u32,
        /// The CRC of the section's bytes.
        computed: u32,
    },
    /// A length field points past its container or leaves bytes unread.
    #[error("{field} is {declared} but {actual} bytes are there")]
    Length {
        /// The length field.
        field: &'static str,
        /// Its value.
        declared: usize,
        /// The bytes it should cover.
        actual: usize,
    },
    /// A value does not fit the field it is written to.
    #[error("{field} = {value} does not fit in {bits} bits")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The field's width.
        bits: u32,
    },
    /// Fields contradict each other (for example a splice_time where the
    /// flags say there is none).
    #[error("inconsistent {field}: {reason}")]
    Inconsistent {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Text given as a cue is neither base64 nor hex.
    #[error("not a cue in base64 or hex: {0}")]
    Encoding(String),
}
