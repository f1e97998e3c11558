//! The one place that names the atomics, so the ring protocol can run under
//! [loom](https://docs.rs/loom) (`RUSTFLAGS="--cfg loom"`), as tokio does.

#[cfg(loom)]
pub(crate) use loom::sync::atomic;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic;
