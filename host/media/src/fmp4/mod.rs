//! Fragmented MP4 (ISO/IEC 14496-12, CMAF style: one track a file), the
//! segment format that HLS (fMP4) and DASH share: an H.264 track
//! (`AvcTrack`), an ADTS AAC track (`AacTrack`) and a WebVTT track
//! (`WebVttTrack`), each with its initialisation segment and its
//! fragments.

mod audio;
mod boxes;
mod text;
mod track;
mod video;

pub use audio::{AacTrack, AdtsConfig, adts_frames, adts_header, adts_split};
pub use text::WebVttTrack;
pub use video::{AvcTrack, Fmp4Error, TIMESCALE};
