//! Running a `caption-converter` plugin: cc_data in, cues out; cues to and
//! from WebVTT, SRT and CEA-608 pairs, under the same limits and failure
//! handling as nodes.

use crate::bindings::since_v0_1_0::captions::{self as bindings, exports::stagebox::media::captions as wit};
use crate::error::NodeError;
use crate::host::GuestMetrics;
use crate::manifest::World;
use crate::node::{NodeLimits, NodeStats, Runner};
use crate::plugin::Plugin;
use std::sync::Arc;

/// A caption converter: a `caption-converter` plugin decoding one caption
/// source of a channel and converting between caption formats.
pub struct CaptionConverter {
    runner: Runner<bindings::CaptionConverter>,
}

fn text_bytes(cues: &[wit::Cue]) -> usize {
    cues.iter().map(|c| c.text.len()).sum()
}

impl CaptionConverter {
    /// Runs `plugin` as the converter `name` with its JSON `config`.
    pub fn new(
        plugin: Arc<Plugin>,
        name: &str,
        config: &str,
        limits: NodeLimits,
    ) -> Result<CaptionConverter, NodeError> {
        let runner = Runner::new(
            plugin,
            World::CaptionConverter,
            name,
            config,
            limits,
            |p, s| bindings::CaptionConverterPre::new(p.pre.clone())?.instantiate(s),
            |b, s, c| b.stagebox_media_captions().call_init(s, c),
        )?;
        Ok(CaptionConverter { runner })
    }

    /// Makes and initialises the instance now: a configuration the plugin
    /// refuses is reported here rather than on the first cc_data.
    pub fn prepare(&mut self) -> Result<(), NodeError> {
        self.runner.prepare()
    }

    /// Decodes the cc_data triplets carried at `pts` (ns of media time);
    /// returns the cues that ended.
    pub fn decode_cc(&mut self, cc_data: &[u8], pts: u64, wall_clock: u64) -> Result<Vec<wit::Cue>, NodeError> {
        self.runner.call(
            |out: &Vec<wit::Cue>| text_bytes(out),
            |b, s| b.stagebox_media_captions().call_decode_cc(s, cc_data, pts, wall_clock),
        )
    }

    /// Ends what is on screen at `pts`.
    pub fn flush(&mut self, pts: u64) -> Result<Vec<wit::Cue>, NodeError> {
        self.runner
            .call(|out: &Vec<wit::Cue>| text_bytes(out), |b, s| b.stagebox_media_captions().call_flush(s, pts).map(Ok))
    }

    /// What the plugin's decoder counted.
    pub fn decode_stats(&mut self) -> Result<wit::DecodeStats, NodeError> {
        self.runner.call(|_| 0, |b, s| b.stagebox_media_captions().call_stats(s).map(Ok))
    }

    /// Writes cues as WebVTT or SRT.
    pub fn cues_to_text(&mut self, cues: &[wit::Cue], format: wit::TextFormat) -> Result<String, NodeError> {
        self.runner.call(String::len, |b, s| b.stagebox_media_captions().call_cues_to_text(s, cues, format))
    }

    /// Reads WebVTT or SRT into cues.
    pub fn text_to_cues(&mut self, text: &str, format: wit::TextFormat) -> Result<Vec<wit::Cue>, NodeError> {
        self.runner.call(
            |out: &Vec<wit::Cue>| text_bytes(out),
            |b, s| b.stagebox_media_captions().call_text_to_cues(s, text, format),
        )
    }

    /// Encodes cues as CEA-608 byte pairs on `channel`, one per frame at
    /// `frame_rate_milli` / 1000 fps from `start` (ns).
    pub fn cues_to_cea608(
        &mut self,
        cues: &[wit::Cue],
        channel: wit::Cea608Channel,
        start: u64,
        frame_rate_milli: u32,
    ) -> Result<Vec<(u8, u8)>, NodeError> {
        self.runner.call(
            |out: &Vec<(u8, u8)>| out.len() * 2,
            |b, s| b.stagebox_media_captions().call_cues_to_cea608(s, cues, channel, start, frame_rate_milli),
        )
    }

    /// What happened to this converter's calls.
    pub fn stats(&self) -> NodeStats {
        self.runner.stats
    }

    /// The metrics and log drops the plugin reported.
    pub fn metrics(&self) -> GuestMetrics {
        self.runner.metrics()
    }
}
