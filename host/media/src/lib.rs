//! Pure media formats for Stagebox: parsers, writers and the logic around
//! them, with no I/O. Everything here builds for `wasm32-wasip2` too, so the
//! bundled plugins in `guests/` run the same code the host fuzzes and
//! benchmarks natively.
//!
//! - [`scte35`]: the splice_info_section of ANSI/SCTE 35 2023, parsed and
//!   written back byte for byte, plus the cue policy and its HLS and DASH
//!   annotations.
//! - [`captions`]: CEA-608 decoding and encoding, SCC, WebVTT and SRT.
//! - [`loudness`]: the EBU R 128 / BS.1770-4 loudness meter.
//! - [`timecode`]: SMPTE timecode (drop-frame and not) and burning it into
//!   UYVY, v210 and RGBA frames.
//! - [`ts`]: MPEG-2 transport streams: packets, PSI, PES, timestamps.
//! - [`crc`]: the CRC-32 of MPEG-2 sections.
//! - [`flv`]: FLV tag bodies (H.264 and AAC) for RTMP.
//! - [`hls`]: HLS media segments cut from a transport stream, and the
//!   live media playlist.
//! - [`fmp4`]: fragmented MP4 (CMAF style) H.264 and AAC tracks, for HLS
//!   fMP4 and DASH.
//! - [`cmaf`]: a transport stream cut into CMAF segments, a track each.
//! - [`dash`]: the live DASH manifest.
//! - [`h264`]: NAL units, emulation prevention and SPS reading.

#![forbid(unsafe_code)]

pub mod calendar;
pub mod captions;
pub mod cmaf;
pub mod crc;
pub mod dash;
pub mod flv;
pub mod fmp4;
pub mod h264;
pub mod hls;
pub mod loudness;
pub mod rtp;
pub mod scte35;
pub mod timecode;
pub mod ts;
