//! Errors of the plugin runtime.

use std::time::Duration;

/// Loading a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The manifest is invalid; `field` names the field.
    #[error("manifest field `{field}`: {reason}")]
    Manifest {
        /// The offending field (dotted path).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid WebAssembly component")]
    Compile(#[source] wasmtime::Error),
    /// The component exports no Stagebox world this host knows.
    #[error("the component exports no stagebox:media world (exports: {exports})")]
    NoWorld {
        /// What it exports.
        exports: String,
    },
    /// The component implements another world than its manifest says.
    #[error("the manifest says world `{manifest}` but the component implements `{component}`")]
    WorldMismatch {
        /// World in the manifest.
        manifest: String,
        /// World the component exports.
        component: String,
    },
    /// The component was built against an interface version this host does
    /// not support.
    #[error("interface version {found} is not supported (this host supports {supported})")]
    Version {
        /// The version the component uses.
        found: String,
        /// What this host supports.
        supported: String,
    },
    /// The component imports something it was not granted, or that does not exist.
    #[error("link error: the component imports `{import}`, {reason}")]
    Link {
        /// The import.
        import: String,
        /// Why it cannot be satisfied.
        reason: String,
    },
    /// Linking or pre-instantiation failed in wasmtime.
    #[error("link error")]
    Instantiate(#[source] wasmtime::Error),
}

/// A call into a plugin node failed. The node stays usable: after any of
/// these but [`NodeError::Guest`], the broken instance is dropped and a fresh
/// one serves the next call.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The plugin reported an expected failure (its `error` record).
    #[error("plugin error ({code}): {message}")]
    Guest {
        /// The WIT error code, in its WIT spelling.
        code: &'static str,
        /// The plugin's message.
        message: String,
    },
    /// The call ran past its CPU deadline.
    #[error("plugin ran past its {budget:?} deadline")]
    Timeout {
        /// The deadline of the call.
        budget: Duration,
    },
    /// The plugin tried to grow its memory past the cap.
    #[error("plugin hit its memory cap of {cap} bytes")]
    MemoryLimit {
        /// The cap.
        cap: usize,
    },
    /// The plugin returned more output than the node allows.
    #[error("plugin returned {bytes} bytes of output, more than the {limit} allowed")]
    OutputTooLarge {
        /// Bytes returned.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The plugin trapped (a bug: panic, out-of-bounds, unreachable).
    #[error("plugin trapped: {message}")]
    Trap {
        /// The trap and the tail of the plugin's stderr.
        message: String,
    },
    /// A fresh instance could not be made (should not happen after a
    /// successful load; reported rather than hidden).
    #[error("could not instantiate the plugin")]
    Instantiate(#[source] wasmtime::Error),
}
