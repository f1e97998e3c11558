//! The `audio-node` world: PCM blocks in, blocks out.

#![allow(missing_docs, unsafe_code)] // generated bindings

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "audio-node",
    pub_export_macro: true,
    export_macro_name: "__export_audio_node_world",
    default_bindings_module: "stagebox_sdk::audio",
});

pub use exports::stagebox::media::audio_processor::Guest;
pub use stagebox::media::clock;
pub use stagebox::media::log;
pub use stagebox::media::metrics;
pub use stagebox::media::types::{AudioBlock, AudioFormat, Error, ErrorCode, GrainInfo};

use std::cell::RefCell;

/// A video node. One value lives per instance; the host makes a fresh
/// instance (and calls [`AudioNode::new`] again) after a failure.
pub trait AudioNode: Sized + 'static {
    /// Makes the node from its configuration (JSON text, possibly empty).
    fn new(config: &str) -> Result<Self, Error>;
    /// Processes one block into zero, one or more blocks.
    fn process(&mut self, block: AudioBlock) -> Result<Vec<AudioBlock>, Error>;
}

thread_local! {
    static NODE: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __init<T: AudioNode>(config: String) -> Result<(), Error> {
    let node = T::new(&config)?;
    NODE.with(|n| *n.borrow_mut() = Some(Box::new(node)));
    Ok(())
}

#[doc(hidden)]
pub fn __process<T: AudioNode>(frame: AudioBlock) -> Result<Vec<AudioBlock>, Error> {
    NODE.with(|n| match n.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<T>()) {
        Some(node) => node.process(frame),
        None => Err(Error { code: ErrorCode::NotInitialized, message: "process before init".into() }),
    })
}

/// Exports `$node` (a [`AudioNode`]) as this component's `audio-processor`.
#[macro_export]
macro_rules! export_audio_node {
    ($node:ty) => {
        #[doc(hidden)]
        pub struct __StageboxAudioNode;
        impl $crate::audio::Guest for __StageboxAudioNode {
            fn init(config: String) -> Result<(), $crate::audio::Error> {
                $crate::audio::__init::<$node>(config)
            }
            fn process(
                frame: $crate::audio::AudioBlock,
            ) -> Result<Vec<$crate::audio::AudioBlock>, $crate::audio::Error> {
                $crate::audio::__process::<$node>(frame)
            }
        }
        $crate::audio::__export_audio_node_world!(__StageboxAudioNode);
    };
}
