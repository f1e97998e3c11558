//! SCTE-35 (ANSI/SCTE 35 2023) splice_info_sections.
//!
//! [`SpliceInfoSection::parse`] reads a section (table_id 0xFC to CRC_32)
//! into typed fields; [`SpliceInfoSection::to_bytes`] writes it back. For a
//! section that follows the standard (reserved bits set to 1), writing gives
//! the same bytes that were read. The types serialise with serde, which is
//! the JSON the `stagebox scte35` tools print and take.
//!
//! Supported: every command (splice_null, splice_schedule, splice_insert,
//! time_signal, bandwidth_reservation, private_command, and reserved types
//! kept as bytes), every descriptor (avail, DTMF, segmentation with every
//! UPID type, time, audio, and private ones kept as bytes), the CRC-32, and
//! encrypted sections, whose encrypted part is kept as bytes and reported.
//!
//! ```
//! use stagebox_media::scte35::*;
//! // ANSI/SCTE 35 2023 §14.2: a splice_insert.
//! let cue = SpliceInfoSection::from_text("/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=")?;
//! let Payload::Clear { command: SpliceCommand::SpliceInsert(insert), .. } = &cue.payload else { panic!() };
//! assert_eq!(insert.splice_event_id, 0x4800008f);
//! assert_eq!(cue.to_base64()?, "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=");
//! # Ok::<(), Scte35Error>(())
//! ```

mod bits;
mod command;
mod descriptor;
mod error;
pub mod policy;
mod section;
mod text;
mod upid;

pub use crate::crc::crc32_mpeg2;
pub use command::{
    BreakDuration, ComponentSplice, InsertEvent, ScheduleComponent, ScheduleEvent, SpliceCommand, SpliceInsert,
    SpliceScheduleEvent, SpliceTime,
};
pub use descriptor::{
    AudioComponent, CUEI, DeliveryRestrictions, SegmentationComponent, SegmentationDescriptor, SegmentationEvent,
    SpliceDescriptor, SubSegment,
};
pub use error::Scte35Error;
pub use section::{Payload, SpliceInfoSection};
pub use text::{Text, decode_text};
pub use upid::{AtscContentId, Upid};
