//! Transcoding for Stagebox, on FFmpeg (ffmpeg-next over Debian's
//! libavcodec, x264 through it):
//!
//! - [`ladder`]: the encoding ladder of a live channel: one decode, then a
//!   scale and an H.264 encode per rendition, with keyframes aligned
//!   across renditions at segment boundaries and splice points
//!   (docs/streaming.md).
//! - [`audio`]: the ladder's AAC: decoded and encoded again at its bitrate;
//!   and AAC from PCM for the encoder.
//! - [`encode`]: a live encoder of raw flows (v210 video, float PCM) into
//!   an MPEG-TS program of H.264 and AAC, timed by the grains' TAI.
//! - [`v210`]: native v210 unpacking into 8-bit 4:2:0 planes.

// FFI layer: one `unsafe` block (side-data bytes ffmpeg-next gives no
// safe writer for), in `ladder`, with its SAFETY comment.
#![deny(unsafe_code)]

pub mod audio;
pub mod encode;
#[allow(unsafe_code)]
pub mod ladder;
pub mod v210;

pub use encode::{AudioConfig, Encoder, EncoderConfig};
pub use ladder::{Ladder, LadderConfig, Rendition};

/// Why transcoding failed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A configuration that cannot work.
    #[error("{0}")]
    Config(String),
    /// This FFmpeg lacks a codec the ladder needs.
    #[error("{0} is missing from this FFmpeg")]
    Missing(&'static str),
    /// FFmpeg refused a step.
    #[error("FFmpeg failed {0}")]
    Ffmpeg(&'static str, #[source] ffmpeg_next::Error),
}
