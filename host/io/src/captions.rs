//! An HLS output's captions: the CEA-608/708 cc_data of the video's SEI,
//! in presentation order, decoded into cues for the output's WebVTT
//! rendition. In Stagebox a `caption-converter` plugin decodes them (the
//! daemon wraps an instance in this trait); the output calls it on a
//! thread of its own, never on the channel's task or the async runtime.

use stagebox_media::captions::Cue;

/// Decodes one output's captions.
pub trait CaptionDecoder: Send {
    /// The cc_data triplets carried by the picture presented at `pts_ns`
    /// (ns on the output's extended PTS timeline), given in presentation
    /// order; returns the cues that ended. A failure returns nothing: the
    /// implementation reports it.
    fn decode(&mut self, cc_data: &[u8], pts_ns: u64) -> Vec<Cue>;

    /// The stream ended at `pts_ns`: the cues still shown end there.
    fn flush(&mut self, pts_ns: u64) -> Vec<Cue>;
}
