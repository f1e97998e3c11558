//! An output's SCTE-35 decisions made by an `scte35-policy` plugin: every
//! cue of the channel goes to the plugin instance of each output that has
//! one, and each decision shows on the event stream.

use crate::events::Events;
use crate::pipeline::scte35::outcome_json;
use stagebox_io::cue::{CueContext, CueDecision, CueFilter};
use stagebox_plugins::Scte35Policy;
use stagebox_plugins::types::{Decision, StreamContext};

/// One output's plugin.
pub struct PluginCues {
    /// The plugin instance.
    pub policy: Scte35Policy,
    /// Where decisions are reported.
    pub events: Events,
    /// The output's name.
    pub output: String,
    /// Cues seen, for the decision events.
    pub seen: u64,
}

impl CueFilter for PluginCues {
    fn decide(&mut self, section: &[u8], context: &CueContext<'_>) -> CueDecision {
        let stream = StreamContext {
            pid: context.pid,
            pts: context.pts,
            wall_clock: stagebox_flow::now_tai_ns(),
            channel: context.channel.to_owned(),
        };
        let index = self.seen;
        self.seen += 1;
        match self.policy.on_section(section, &stream) {
            Ok(out) => {
                let decision = match &out.decision {
                    Decision::Pass => CueDecision::Pass,
                    Decision::Drop => CueDecision::Drop,
                    Decision::Rewrite(bytes) => CueDecision::Rewrite(bytes.clone()),
                };
                let sent = match &decision {
                    CueDecision::Pass => section,
                    CueDecision::Drop => &[][..],
                    CueDecision::Rewrite(bytes) => bytes.as_slice(),
                };
                let mut data = outcome_json(index, &out, sent);
                data["output"] = self.output.clone().into();
                self.events.send_channel("scte35.decision", context.channel, data);
                decision
            }
            Err(e) => {
                // A failing plugin never eats a cue: the cue passes as it
                // came, and the failure is counted and reported. The
                // runtime replaces the instance for the next call.
                tracing::warn!(channel = context.channel, output = %self.output, "SCTE-35 plugin failed: {e}");
                self.events.send_channel(
                    "scte35.failed",
                    context.channel,
                    serde_json::json!({ "output": self.output, "index": index, "error": e.to_string() }),
                );
                CueDecision::Pass
            }
        }
    }
}
