//! Errors of the flow layer.

use crate::descriptor::DescriptorError;
use std::path::PathBuf;
use uuid::Uuid;

/// Opening, creating or managing a flow failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A system call on a file of the flow failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The flow's `flow_def.json` (or a descriptor given to a writer) is invalid.
    #[error("invalid flow definition {path}")]
    Definition {
        /// The `flow_def.json`, or `<descriptor>` for one given in code.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: DescriptorError,
    },
    /// A header's version field is not 1.
    #[error("{path}: layout version {found} is not supported (expected 1)")]
    Version {
        /// The `data` or grain file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The `data` file names a flow format this library does not know.
    #[error("{path}: unknown flow format code {found:#x}")]
    Format {
        /// The `data` file.
        path: PathBuf,
        /// The format code found.
        found: u32,
    },
    /// A file is shorter than its headers say it must be.
    #[error("{path} is {found} bytes, at least {expected} are needed")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The files disagree with each other or with `flow_def.json`.
    #[error("{path}: {detail}")]
    Corrupt {
        /// The file that disagrees.
        path: PathBuf,
        /// How.
        detail: String,
    },
    /// No flow with that id or label exists in the domain.
    #[error("no flow {what} in domain {domain}")]
    NotFound {
        /// The domain folder.
        domain: PathBuf,
        /// The id or label looked for.
        what: String,
    },
    /// The flow has a live writer already.
    #[error("flow {id} already has a live writer")]
    Busy {
        /// The flow.
        id: Uuid,
    },
    /// A discrete operation on a continuous flow, or the other way round.
    #[error("flow {id} is {actual}, not {wanted}")]
    WrongKind {
        /// The flow.
        id: Uuid,
        /// What it is.
        actual: &'static str,
        /// What the caller asked for.
        wanted: &'static str,
    },
    /// Creating the flow would take the domain over its size quota.
    #[error("domain {domain} quota {quota} B exceeded: {used} B used, {needed} B more needed")]
    Quota {
        /// The domain folder.
        domain: PathBuf,
        /// The quota.
        quota: u64,
        /// Bytes in use after reclaiming stale flows.
        used: u64,
        /// Bytes the new flow needs.
        needed: u64,
    },
    /// A writer call with an argument out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl FlowError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FlowError {
        let path = path.into();
        move |source| FlowError::Io { path, source }
    }
}

/// A read could not return data. Cheap to make: no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The grain or sample has not been written yet.
    #[error("index {index} is not written yet (head {head})")]
    TooEarly {
        /// The index asked for.
        index: u64,
        /// The head index at the time.
        head: u64,
    },
    /// The grain or sample was overwritten, before or during the read.
    #[error("index {index} was overwritten (head {head})")]
    TooLate {
        /// The index asked for.
        index: u64,
        /// The head index at the time.
        head: u64,
    },
    /// The flow has no live writer: it died or released the flow.
    #[error("the flow's writer is gone")]
    WriterGone,
    /// The flow folder was removed or replaced by a new flow.
    #[error("the flow was removed or replaced")]
    FlowRemoved,
}
