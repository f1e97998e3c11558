//! What can go wrong reading or writing captions.

/// Captions could not be read or written. Every variant says where.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaptionError {
    /// A document does not follow its format.
    #[error("{format} line {line}: {reason}")]
    Syntax {
        /// The format being read.
        format: &'static str,
        /// The line (1-based).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// A cue cannot be written as asked.
    #[error("cue {index}: {reason}")]
    Cue {
        /// The cue's position in the list (0-based).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A frame rate that cannot be used.
    #[error("frame rate {0} mHz is not usable (must be between 1 and 120 fps)")]
    FrameRate(u32),
    /// A transport stream that holds no captions we can read.
    #[error("transport stream: {0}")]
    Transport(String),
    /// A caption source name that is not `cc1`–`cc4` or `service1`–`service63`.
    #[error("caption source {0:?}: use cc1 to cc4 (CEA-608) or service1 to service63 (CEA-708)")]
    Source(String),
}
