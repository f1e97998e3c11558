//! What can go wrong opening and running channels.

use crate::url::UrlError;

/// Why a channel, input or output could not be set up or changed.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// A URL was refused.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A socket could not be made ready.
    #[error("cannot set up {what}")]
    Socket {
        /// Which socket.
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A host name did not resolve.
    #[error("cannot resolve {host:?}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// A channel or output description that cannot work.
    #[error("{0}")]
    Config(String),
    /// An output's bounded queue was full and something that cannot be
    /// counted as dropped packets was lost.
    #[error("{0} lost: the output's queue was full")]
    Overflow(&'static str),
    /// The channel's task has ended.
    #[error("the channel has stopped")]
    Stopped,
}
