//! Paths of the guest components, built for `wasm32-wasip2` by this crate's
//! build script. Used by the plugin runtime's tests and benchmarks.

#![forbid(unsafe_code)]

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
