//! The `caption-converter` world: cc_data in, cues out; cues to and from
//! WebVTT, SRT and CEA-608 byte pairs.

#![allow(missing_docs, unsafe_code)] // generated bindings

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "caption-converter",
    pub_export_macro: true,
    export_macro_name: "__export_caption_converter_world",
    default_bindings_module: "stagebox_sdk::captions",
});

pub use exports::stagebox::media::captions::{Cea608Channel, Cue, DecodeStats, Guest, TextFormat};
pub use stagebox::media::clock;
pub use stagebox::media::log;
pub use stagebox::media::metrics;
pub use stagebox::media::types::{Error, ErrorCode};

use std::cell::RefCell;

/// A caption converter. One value lives per instance; the host makes a
/// fresh instance (and calls [`CaptionConverter::new`] again) after a
/// failure.
pub trait CaptionConverter: Sized + 'static {
    /// Makes the converter from its configuration (JSON text, possibly empty).
    fn new(config: &str) -> Result<Self, Error>;
    /// Decodes cc_data triplets carried at `pts`; returns the cues that ended.
    fn decode_cc(&mut self, cc_data: Vec<u8>, pts: u64, wall_clock: u64) -> Result<Vec<Cue>, Error>;
    /// Ends every cue still on screen or being built at `pts`.
    fn flush(&mut self, pts: u64) -> Vec<Cue>;
    /// What the decoder counted.
    fn stats(&self) -> DecodeStats;
    /// Writes cues as a document.
    fn cues_to_text(&mut self, cues: Vec<Cue>, format: TextFormat) -> Result<String, Error>;
    /// Reads a document into cues.
    fn text_to_cues(&mut self, text: String, format: TextFormat) -> Result<Vec<Cue>, Error>;
    /// Encodes cues as CEA-608 byte pairs, one per frame.
    fn cues_to_cea608(
        &mut self,
        cues: Vec<Cue>,
        channel: Cea608Channel,
        start: u64,
        frame_rate_milli: u32,
    ) -> Result<Vec<(u8, u8)>, Error>;
}

thread_local! {
    static CONVERTER: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __init<T: CaptionConverter>(config: String) -> Result<(), Error> {
    let converter = T::new(&config)?;
    CONVERTER.with(|c| *c.borrow_mut() = Some(Box::new(converter)));
    Ok(())
}

/// Runs `f` on the converter; `None` before a successful `init`.
#[doc(hidden)]
pub fn __with<T: CaptionConverter, R>(f: impl FnOnce(&mut T) -> R) -> Option<R> {
    CONVERTER.with(|c| c.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<T>()).map(f))
}

#[doc(hidden)]
pub fn __not_initialized() -> Error {
    Error { code: ErrorCode::NotInitialized, message: "called before init".into() }
}

/// Exports `$converter` (a [`CaptionConverter`]) as this component's `captions`.
#[macro_export]
macro_rules! export_caption_converter {
    ($converter:ty) => {
        #[doc(hidden)]
        pub struct __StageboxCaptionConverter;
        impl $crate::captions::Guest for __StageboxCaptionConverter {
            fn init(config: String) -> Result<(), $crate::captions::Error> {
                $crate::captions::__init::<$converter>(config)
            }
            fn decode_cc(
                cc_data: Vec<u8>,
                pts: u64,
                wall_clock: u64,
            ) -> Result<Vec<$crate::captions::Cue>, $crate::captions::Error> {
                $crate::captions::__with::<$converter, _>(|c| c.decode_cc(cc_data, pts, wall_clock))
                    .unwrap_or_else(|| Err($crate::captions::__not_initialized()))
            }
            fn flush(pts: u64) -> Vec<$crate::captions::Cue> {
                $crate::captions::__with::<$converter, _>(|c| c.flush(pts)).unwrap_or_default()
            }
            fn stats() -> $crate::captions::DecodeStats {
                $crate::captions::__with::<$converter, _>(|c| c.stats()).unwrap_or($crate::captions::DecodeStats {
                    parity_errors: 0,
                    xds_packets: 0,
                    bad_service_blocks: 0,
                })
            }
            fn cues_to_text(
                cues: Vec<$crate::captions::Cue>,
                format: $crate::captions::TextFormat,
            ) -> Result<String, $crate::captions::Error> {
                $crate::captions::__with::<$converter, _>(|c| c.cues_to_text(cues, format))
                    .unwrap_or_else(|| Err($crate::captions::__not_initialized()))
            }
            fn text_to_cues(
                text: String,
                format: $crate::captions::TextFormat,
            ) -> Result<Vec<$crate::captions::Cue>, $crate::captions::Error> {
                $crate::captions::__with::<$converter, _>(|c| c.text_to_cues(text, format))
                    .unwrap_or_else(|| Err($crate::captions::__not_initialized()))
            }
            fn cues_to_cea608(
                cues: Vec<$crate::captions::Cue>,
                channel: $crate::captions::Cea608Channel,
                start: u64,
                frame_rate_milli: u32,
            ) -> Result<Vec<(u8, u8)>, $crate::captions::Error> {
                $crate::captions::__with::<$converter, _>(|c| c.cues_to_cea608(cues, channel, start, frame_rate_milli))
                    .unwrap_or_else(|| Err($crate::captions::__not_initialized()))
            }
        }
        $crate::captions::__export_caption_converter_world!(__StageboxCaptionConverter);
    };
}
