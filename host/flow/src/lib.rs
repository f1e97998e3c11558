//! Shared-memory media flows for Stagebox, compatible with MXL v1.
//!
//! A *flow* is a stream of one essence (video, audio, data or a multiplex)
//! that one writer puts into shared memory and any number of readers, in any
//! process, borrow without copying. The files and the protocol are those of
//! the EBU / Linux Foundation Media eXchange Layer v1, byte for byte, so
//! libmxl-based tools can read what Stagebox writes and the other way round.
//! On top of MXL, Stagebox readers detect torn reads, make no system call per
//! read, detect a dead writer instead of hanging, and domains clean up stale
//! flows and keep to a size quota. See `docs/flows.md`.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! use stagebox_flow::*;
//! use std::time::Duration;
//!
//! let domain = Domain::open(dir.path())?;
//! let rate = Rational::new(50, 1)?;
//! let desc = FlowDescriptor::new(
//!     uuid::Uuid::new_v4(),
//!     "Cam 1",
//!     FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, 1920, 1080, rate)),
//! )?;
//! let mut writer = domain.create_discrete(&desc)?;
//! let reader = domain.open_discrete(desc.id())?;
//!
//! let mut grain = writer.grant(7)?;
//! grain.payload_mut()[0] = 42;
//! grain.commit()?;
//!
//! let view = reader.wait(7, Duration::from_millis(100))?;
//! assert_eq!(view.payload()[0], 42);
//! view.check()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod layout;
mod protocol;
mod sync;

#[cfg(not(loom))]
mod continuous;
#[cfg(not(loom))]
mod descriptor;
#[cfg(not(loom))]
mod discrete;
#[cfg(not(loom))]
mod domain;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod files;
#[cfg(not(loom))]
mod mapping;
#[cfg(not(loom))]
pub mod pattern;
#[cfg(not(loom))]
mod rational;
#[cfg(not(loom))]
mod time;
#[cfg(not(loom))]
mod waiting;

#[cfg(not(loom))]
pub use {
    continuous::{ContinuousReader, ContinuousWriter, SamplesMut, SamplesView},
    descriptor::{
        AudioFormat, DataFormat, DataKind, DescriptorError, FlowDescriptor, FlowFormat, Interlace, MAX_GRAIN_BYTES,
        MuxFormat, MuxKind, SampleFormat, VideoCoding, VideoFormat,
    },
    discrete::{DiscreteReader, DiscreteWriter, GrainMut, GrainView},
    domain::{Domain, DomainOptions, FlowEntry, FlowList, GcReport},
    error::{FlowError, ReadError},
    rational::{Rational, RationalError},
    time::{
        SystemClock, TaiClock, UNDEFINED_INDEX, current_index, index_to_timestamp, now_tai_ns, ns_until_index,
        timestamp_to_index,
    },
    waiting::FlowStatus,
};
