//! The runtime for Stagebox's sandboxed WebAssembly plugins.
//!
//! Plugins are WebAssembly components implementing one world of the WIT
//! package `stagebox:media` (`wit/` at the top of the repository). This crate
//! loads them with wasmtime and runs them as nodes under limits:
//!
//! - a [`Plugin`] is compiled once, checked (its world and interface version
//!   against its [`Manifest`], its imports against the capabilities granted)
//!   and linked;
//! - a [`VideoNode`], [`AudioNode`], [`Scte35Policy`] or [`CaptionConverter`] runs an instance of it under a memory
//!   cap and a CPU deadline per call taken from media time (half a frame by
//!   default);
//! - a trap, a timeout, the memory cap or an oversized output is a typed
//!   [`NodeError`], counted in [`NodeStats`]; the broken instance is dropped
//!   and a fresh one serves the next call.
//!
//! ```no_run
//! use stagebox_plugins::*;
//! use std::{sync::Arc, time::Duration};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::new()?;
//! let manifest = Manifest::from_toml(&std::fs::read_to_string("invert.toml")?)?;
//! let plugin = Arc::new(Plugin::load(&runtime, &std::fs::read("invert.wasm")?, manifest, &[])?);
//! let limits = NodeLimits::for_period(&plugin, Duration::from_millis(20)); // 50 fps
//! let mut node = VideoNode::new(plugin, "negative", "{}", limits)?;
//! # let frame: types::VideoFrame = todo!();
//! let out = node.process(&frame)?;
//! # Ok(()) }
//! ```

// One `unsafe` call: deserialising a precompiled component that the cache
// has authenticated (cache.rs). Nothing else in this crate may use it.
#![deny(unsafe_code)]

mod bindings;
mod cache;
mod captions;
mod error;
mod host;
mod manifest;
mod node;
mod plugin;
mod runtime;
mod scte35;
mod store;

pub use cache::{CacheError, CacheOutcome, CompileCache};
pub use captions::CaptionConverter;
pub use error::{NodeError, PluginError};
pub use host::GuestMetrics;
pub use manifest::{Capability, Limits, Manifest, World};
pub use node::{AudioNode, NodeLimits, NodeStats, VideoNode};
pub use plugin::{PACKAGE, Plugin};
pub use runtime::{EPOCH_TICK, Runtime};
pub use scte35::Scte35Policy;
pub use store::{PluginStore, StoreError, StoredPlugin, TrustPolicy, signing_message};

/// The media types of `stagebox:media@0.1.0`, as plugins see them.
pub mod types {
    pub use crate::bindings::since_v0_1_0::captions::exports::stagebox::media::captions::{
        Cea608Channel, Cue, DecodeStats, TextFormat,
    };
    pub use crate::bindings::since_v0_1_0::scte35::exports::stagebox::media::scte35::{
        DashEvent, Decision, HlsDialect, HlsTag, Outcome, SpliceKind, SplicePoint, StreamContext,
    };
    pub use crate::bindings::since_v0_1_0::types::{
        AudioBlock, AudioFormat, Error, ErrorCode, GrainInfo, PixelFormat, Rational, VideoFormat, VideoFrame,
    };
}
