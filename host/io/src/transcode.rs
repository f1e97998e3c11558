//! An HLS output's encoding ladder: the channel's transport stream in,
//! one transport stream per rendition out, each the source with its video
//! re-encoded (keyframes aligned across renditions). `stagebox_codec`
//! makes it (the daemon wraps its `Ladder` in this trait, so this crate
//! needs no FFmpeg); the output runs it on a thread of its own.

/// Why a transcoder stopped.
pub type TranscodeError = Box<dyn std::error::Error + Send + Sync>;

/// Transcodes one output's stream; see the module docs.
pub trait Transcoder: Send {
    /// The renditions' names, in the order `push` returns them.
    fn renditions(&self) -> Vec<String>;

    /// Adds the channel's packets (whole 188-byte packets); returns each
    /// rendition's packets made since the last call.
    fn push(&mut self, packets: &[u8]) -> Result<Vec<Vec<u8>>, TranscodeError>;

    /// Asks for a keyframe in every rendition at the first picture at or
    /// after `pts` (90 kHz): a splice point.
    fn cut_at(&mut self, pts: u64);

    /// The stream ended: what the encoders hold comes out.
    fn finish(&mut self) -> Result<Vec<Vec<u8>>, TranscodeError>;
}
