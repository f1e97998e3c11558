//! Stagebox transports: receiving MPEG-TS over UDP and RTP, and the
//! channel distributor built on it (ARCHITECTURE.md §4, docs/distributor.md).
//!
//! - [`url`]: input and output URLs in ffmpeg's and srt-live-transmit's
//!   forms.
//! - [`input`]: sockets (unicast, multicast, source-specific multicast) and
//!   datagrams to packets, with RTP reordering.
//! - [`failover`]: primary and backup, as a pure state machine.
//! - [`channel`]: the running channel: failover or ST 2022-7 merge,
//!   continuity kept across switches, SCTE-35 decided per output, outputs
//!   added and removed live.
//! - [`output`]: UDP, RTP and SRT destinations.
//! - [`cue`]: the per-output SCTE-35 hook.
//! - [`captions`]: the per-output caption decoder hook (HLS WebVTT).
//! - [`transcode`]: the per-output encoding ladder hook (HLS renditions).
//! - [`status`]: counters and status snapshots.

#![forbid(unsafe_code)]

pub mod captions;
pub mod channel;
pub mod cue;
mod error;
pub mod failover;
pub mod input;
pub mod output;
pub mod status;
pub mod transcode;
pub mod url;

pub use channel::{Channel, ChannelConfig};
pub use error::IoError;
