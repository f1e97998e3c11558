//! Host bindings generated from `wit/`, kept private: the crate's API is the
//! hand-written one in `plugin.rs` and `node.rs`.

#![allow(missing_docs, clippy::all)]

/// `stagebox:media@0.1.0`.
pub(crate) mod since_v0_1_0 {
    pub(crate) mod video {
        wasmtime::component::bindgen!({
            path: "../../wit/since_v0.1.0",
            world: "video-node",
            additional_derives: [PartialEq],
        });
    }

    pub(crate) mod audio {
        wasmtime::component::bindgen!({
            path: "../../wit/since_v0.1.0",
            world: "audio-node",
            with: {
                "stagebox:media/types": super::video::stagebox::media::types,
                "stagebox:media/log": super::video::stagebox::media::log,
                "stagebox:media/clock": super::video::stagebox::media::clock,
                "stagebox:media/metrics": super::video::stagebox::media::metrics,
            },
        });
    }

    pub(crate) mod scte35 {
        wasmtime::component::bindgen!({
            path: "../../wit/since_v0.1.0",
            world: "scte35-policy",
            with: {
                "stagebox:media/types": super::video::stagebox::media::types,
                "stagebox:media/log": super::video::stagebox::media::log,
                "stagebox:media/clock": super::video::stagebox::media::clock,
                "stagebox:media/metrics": super::video::stagebox::media::metrics,
            },
            additional_derives: [PartialEq],
        });
    }

    pub(crate) mod captions {
        wasmtime::component::bindgen!({
            path: "../../wit/since_v0.1.0",
            world: "caption-converter",
            with: {
                "stagebox:media/types": super::video::stagebox::media::types,
                "stagebox:media/log": super::video::stagebox::media::log,
                "stagebox:media/clock": super::video::stagebox::media::clock,
                "stagebox:media/metrics": super::video::stagebox::media::metrics,
            },
            additional_derives: [PartialEq],
        });
    }

    /// The oldest interface version this module serves.
    pub(crate) const MIN_VERSION: (u64, u64, u64) = (0, 1, 0);

    pub(crate) use video::stagebox::media::{clock, log, metrics, types};
}
