//! The Stagebox guest SDK: write a plugin as a plain Rust type.
//!
//! Enable the feature of the world your plugin implements (`video`,
//! `audio`, `scte35` or `captions`), implement its trait, and export it:
//!
//! ```ignore
//! use stagebox_sdk::video::*;
//!
//! struct Invert;
//!
//! impl VideoNode for Invert {
//!     fn new(_config: &str) -> Result<Self, Error> {
//!         Ok(Invert)
//!     }
//!     fn process(&mut self, mut frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
//!         frame.data.iter_mut().for_each(|b| *b = !*b);
//!         Ok(vec![frame])
//!     }
//! }
//!
//! stagebox_sdk::export_video_node!(Invert);
//! ```
//!
//! The interface is `wit/since_v0.1.0` (package `stagebox:media@0.1.0`);
//! `docs/plugins.md` walks through writing, building and loading a plugin.

// Only the wit-bindgen output (the FFI to the host) may use `unsafe`.
#![deny(unsafe_code)]

#[cfg(feature = "video")]
pub mod video;

#[cfg(feature = "audio")]
pub mod audio;

#[cfg(feature = "scte35")]
pub mod scte35;

#[cfg(feature = "captions")]
pub mod captions;

/// Builds an [`Error`](video::Error)-shaped value: `error!(InvalidConfig, "bad {x}")`.
#[macro_export]
macro_rules! error {
    ($code:ident, $($fmt:tt)*) => {
        Error { code: ErrorCode::$code, message: format!($($fmt)*) }
    };
}
