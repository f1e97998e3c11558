//! Fragmented MP4 (ISO/IEC 14496-12, CMAF style: one track a file), the
//! segment format that HLS (fMP4) and DASH share. First step: an H.264
//! track (`AvcTrack`): its initialisation segment and its fragments.

mod boxes;
mod video;

pub use video::{AvcTrack, Fmp4Error, TIMESCALE};
