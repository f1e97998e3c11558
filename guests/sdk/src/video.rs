//! The `video-node` world: frames in, frames out.

#![allow(missing_docs, unsafe_code)] // generated bindings

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "video-node",
    pub_export_macro: true,
    export_macro_name: "__export_video_node_world",
    default_bindings_module: "stagebox_sdk::video",
});

pub use exports::stagebox::media::video_processor::Guest;
pub use stagebox::media::clock;
pub use stagebox::media::log;
pub use stagebox::media::metrics;
pub use stagebox::media::types::{Error, ErrorCode, GrainInfo, PixelFormat, Rational, VideoFormat, VideoFrame};

use std::cell::RefCell;

/// A video node. One value lives per instance; the host makes a fresh
/// instance (and calls [`VideoNode::new`] again) after a failure.
pub trait VideoNode: Sized + 'static {
    /// Makes the node from its configuration (JSON text, possibly empty).
    fn new(config: &str) -> Result<Self, Error>;
    /// Processes one frame into zero, one or more frames.
    fn process(&mut self, frame: VideoFrame) -> Result<Vec<VideoFrame>, Error>;
}

thread_local! {
    static NODE: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __init<T: VideoNode>(config: String) -> Result<(), Error> {
    let node = T::new(&config)?;
    NODE.with(|n| *n.borrow_mut() = Some(Box::new(node)));
    Ok(())
}

#[doc(hidden)]
pub fn __process<T: VideoNode>(frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
    NODE.with(|n| match n.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<T>()) {
        Some(node) => node.process(frame),
        None => Err(Error { code: ErrorCode::NotInitialized, message: "process before init".into() }),
    })
}

/// Exports `$node` (a [`VideoNode`]) as this component's `video-processor`.
#[macro_export]
macro_rules! export_video_node {
    ($node:ty) => {
        #[doc(hidden)]
        pub struct __StageboxVideoNode;
        impl $crate::video::Guest for __StageboxVideoNode {
            fn init(config: String) -> Result<(), $crate::video::Error> {
                $crate::video::__init::<$node>(config)
            }
            fn process(
                frame: $crate::video::VideoFrame,
            ) -> Result<Vec<$crate::video::VideoFrame>, $crate::video::Error> {
                $crate::video::__process::<$node>(frame)
            }
        }
        $crate::video::__export_video_node_world!(__StageboxVideoNode);
    };
}
