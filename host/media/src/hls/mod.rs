//! HLS (RFC 8216): cutting a transport stream into media segments, WebVTT
//! subtitle segments, and writing the live media playlist that lists
//! them. Pure: the packager in
//! the daemon feeds it packets and the clock, and writes the files.

mod codecs;
mod playlist;
mod segment;
mod subtitles;

pub use codecs::{Variant, describe};
pub use playlist::{MediaPlaylist, iso8601};
pub use segment::{MAX_SPLIT_AHEAD, Segment, Segmenter};
pub use subtitles::webvtt_segment;
