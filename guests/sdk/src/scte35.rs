//! The `scte35-policy` world: splice_info_sections in, decisions and
//! manifest annotations out.

#![allow(missing_docs, unsafe_code)] // generated bindings

wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
    world: "scte35-policy",
    pub_export_macro: true,
    export_macro_name: "__export_scte35_policy_world",
    default_bindings_module: "stagebox_sdk::scte35",
});

pub use exports::stagebox::media::scte35::{
    DashEvent, Decision, Guest, HlsDialect, HlsTag, Outcome, SpliceKind, SplicePoint, StreamContext,
};
pub use stagebox::media::clock;
pub use stagebox::media::log;
pub use stagebox::media::metrics;
pub use stagebox::media::types::{Error, ErrorCode};

use std::cell::RefCell;

/// An SCTE-35 policy. One value lives per instance; the host makes a fresh
/// instance (and calls [`Scte35Policy::new`] again) after a failure.
pub trait Scte35Policy: Sized + 'static {
    /// Makes the policy from its configuration (JSON text, possibly empty).
    fn new(config: &str) -> Result<Self, Error>;
    /// Decides about one section (table_id 0xFC to CRC_32).
    fn on_section(&mut self, section: Vec<u8>, context: StreamContext) -> Result<Outcome, Error>;
}

thread_local! {
    static POLICY: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __init<T: Scte35Policy>(config: String) -> Result<(), Error> {
    let policy = T::new(&config)?;
    POLICY.with(|p| *p.borrow_mut() = Some(Box::new(policy)));
    Ok(())
}

#[doc(hidden)]
pub fn __on_section<T: Scte35Policy>(section: Vec<u8>, context: StreamContext) -> Result<Outcome, Error> {
    POLICY.with(|p| match p.borrow_mut().as_mut().and_then(|b| b.downcast_mut::<T>()) {
        Some(policy) => policy.on_section(section, context),
        None => Err(Error { code: ErrorCode::NotInitialized, message: "on-section before init".into() }),
    })
}

/// Exports `$policy` (a [`Scte35Policy`]) as this component's `scte35`.
#[macro_export]
macro_rules! export_scte35_policy {
    ($policy:ty) => {
        #[doc(hidden)]
        pub struct __StageboxScte35Policy;
        impl $crate::scte35::Guest for __StageboxScte35Policy {
            fn init(config: String) -> Result<(), $crate::scte35::Error> {
                $crate::scte35::__init::<$policy>(config)
            }
            fn on_section(
                section: Vec<u8>,
                context: $crate::scte35::StreamContext,
            ) -> Result<$crate::scte35::Outcome, $crate::scte35::Error> {
                $crate::scte35::__on_section::<$policy>(section, context)
            }
        }
        $crate::scte35::__export_scte35_policy_world!(__StageboxScte35Policy);
    };
}
