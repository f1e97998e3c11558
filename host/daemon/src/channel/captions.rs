//! An HLS output's captions decoded by a `caption-converter` plugin (the
//! bundled `captions`, or an uploaded one): the output's task hands it the
//! cc_data of each picture and gets back the cues for its WebVTT
//! rendition. A failing plugin loses the captions of that call, never the
//! output: the failure is logged and put on the event stream, and the
//! runtime replaces the instance for the next call.

use crate::events::Events;
use stagebox_io::captions::CaptionDecoder;
use stagebox_media::captions::Cue;
use stagebox_plugins::CaptionConverter;
use stagebox_plugins::types::Cue as PluginCue;

/// One output's plugin.
pub struct PluginCaptions {
    /// The plugin instance.
    pub converter: CaptionConverter,
    /// Where failures are reported.
    pub events: Events,
    /// The channel's name.
    pub channel: String,
    /// The output's name.
    pub output: String,
}

fn cue(c: PluginCue) -> Cue {
    Cue { start: c.start, end: c.end, text: c.text, line: c.line, column: c.column, styled: c.styled }
}

impl PluginCaptions {
    fn report(&self, what: &str, e: &stagebox_plugins::NodeError) {
        tracing::warn!(channel = %self.channel, output = %self.output, "caption plugin failed to {what}: {e}");
        self.events.send_channel(
            "captions.failed",
            &self.channel,
            serde_json::json!({ "output": self.output, "error": e.to_string() }),
        );
    }
}

impl CaptionDecoder for PluginCaptions {
    fn decode(&mut self, cc_data: &[u8], pts_ns: u64) -> Vec<Cue> {
        match self.converter.decode_cc(cc_data, pts_ns, super::cues::tai_now_ns()) {
            Ok(cues) => cues.into_iter().map(cue).collect(),
            Err(e) => {
                self.report("decode", &e);
                Vec::new()
            }
        }
    }

    fn flush(&mut self, pts_ns: u64) -> Vec<Cue> {
        match self.converter.flush(pts_ns) {
            Ok(cues) => cues.into_iter().map(cue).collect(),
            Err(e) => {
                self.report("flush", &e);
                Vec::new()
            }
        }
    }
}
