//! MPEG-2 transport streams (ISO/IEC 13818-1): packets, PSI (PAT, PMT and
//! the DVB SDT, read and written), PES and timestamps, sections and PES
//! packets cut back into packets ([`SectionPacketizer`],
//! [`PesPacketizer`]), and a [`Demuxer`] that follows the PAT and PMTs of a byte
//! stream and hands out what its elementary streams carry. For forwarding
//! without taking streams apart: [`ContinuityCheck`], [`ProgramWatch`]
//! (which PIDs carry SCTE-35, their sections, the video PTS) and
//! [`Restamper`] (continuity kept across a source switch).
//!
//! It survives garbage: it resynchronises on 0x47, counts what it drops in
//! [`TsStats`] and never panics (`cargo xtask fuzz ts_demux`).
//!
//! ```
//! use stagebox_media::ts::{Demuxer, Event};
//! # let bytes: Vec<u8> = Vec::new();
//! let mut demux = Demuxer::new();
//! for event in demux.push(&bytes).into_iter().chain(demux.finish()) {
//!     if let Event::Pes { pid, pes } = event {
//!         println!("PID {pid}: {} bytes at PTS {:?}", pes.payload.len(), pes.pts);
//!     }
//! }
//! ```

mod continuity;
mod demux;
mod packet;
mod pes;
mod pes_write;
mod psi;
mod restamp;
mod watch;
mod write;

pub use continuity::{Continuity, ContinuityCheck, follow};
pub use demux::{Demuxer, Event, TsStats};
pub use packet::{Adaptation, NULL_PID, PACKET_SIZE, Packet, SYNC_BYTE};
pub use pes::{MAX_PES, Pes, PesAssembler, Timeline, WRAP, ns_to_ticks, ticks_between, ticks_forward, ticks_to_ns};
pub use pes_write::{PesOut, PesPacketizer};
pub use psi::{MAX_SECTION, Pat, Pmt, PmtStream, SectionAssembler};
pub use restamp::Restamper;
pub use watch::ProgramWatch;
pub use write::{SDT_PID, Sdt, SdtService, SectionPacketizer};

/// stream_type of H.264 video.
pub const STREAM_TYPE_H264: u8 = 0x1b;
/// stream_type of AAC audio in ADTS (ISO/IEC 13818-1 Table 2-34).
pub const STREAM_TYPE_AAC: u8 = 0x0f;
/// stream_type of SCTE-35 splice information (ANSI/SCTE 35 §8.1).
pub const STREAM_TYPE_SCTE35: u8 = 0x86;

/// What is wrong with transport stream bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    /// A packet does not start with 0x47.
    #[error("lost sync: packet does not start with 0x47")]
    Sync,
    /// An adaptation field longer than the packet allows.
    #[error("PID {pid}: adaptation_field_length {len} is too long")]
    AdaptationLength {
        /// The packet's PID.
        pid: u16,
        /// The length it gave.
        len: usize,
    },
    /// A malformed section.
    #[error("section: {0}")]
    Section(&'static str),
    /// A PSI section whose CRC-32 does not check.
    #[error("table 0x{table_id:02x}: CRC-32 mismatch")]
    Crc {
        /// The section's table_id.
        table_id: u8,
    },
    /// A malformed PES packet.
    #[error("PES: {0}")]
    Pes(&'static str),
}
