//! An output's SCTE-35 decisions made by an `scte35-policy` plugin: every
//! cue of the channel goes to the plugin instance of each output that has
//! one, and each decision shows on the event stream.

use crate::events::Events;
use crate::markers::Markers;
use crate::pipeline::scte35::outcome_json;
use stagebox_io::cue::{CueContext, CueDecision, CueFilter, CueOutcome};
use stagebox_media::scte35::policy::TAI_UTC_OFFSET_S;
use stagebox_media::ts::ticks_between;
use stagebox_plugins::Scte35Policy;
use stagebox_plugins::types::SpliceKind;
use stagebox_plugins::types::{Decision, StreamContext};
use std::sync::Arc;

/// TAI now, from the system's UTC clock and TAI − UTC (37 s since 2017).
/// Not CLOCK_TAI: the kernel only knows the offset where something (PTP,
/// chrony) has told it, and elsewhere CLOCK_TAI reads as UTC, which put
/// every cue's `START-DATE` 37 s early.
pub(crate) fn tai_now_ns() -> u64 {
    let utc = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (utc + std::time::Duration::from_secs(TAI_UTC_OFFSET_S.unsigned_abs())).as_nanos() as u64
}

/// One output's plugin.
pub struct PluginCues {
    /// The plugin instance.
    pub policy: Scte35Policy,
    /// Where decisions are reported.
    pub events: Events,
    /// Where splice points become timeline markers.
    pub markers: Arc<Markers>,
    /// The output's name.
    pub output: String,
    /// Cues seen, for the decision events.
    pub seen: u64,
}

impl PluginCues {
    /// A splice point as a timeline marker, dated by its arrival and how
    /// far ahead its PTS is. Every output with a plugin sees the same cue:
    /// the first to mark it does.
    fn mark(&self, context: &CueContext<'_>, point: &stagebox_plugins::types::SplicePoint) {
        let now = crate::api::now_ms() as i64;
        let at_ms = now + ticks_between(context.pts, point.pts) / 90;
        let kind = match point.kind {
            SpliceKind::Out => "out",
            SpliceKind::In => "in",
        };
        let mut text = format!("SCTE-35 {kind}, event {}", point.event_id);
        if let Some(d) = point.duration {
            text.push_str(&format!(", {:.1} s", d as f64 / 90_000.0));
        }
        if let Some(marker) = self.markers.add_once(context.channel, text, "scte35", self.output.clone(), at_ms) {
            self.events.send_channel("channel.marker", context.channel, crate::markers::event_json(&marker));
        }
    }
}

/// `ticks` at `timescale` as 90 kHz ticks.
fn rescale(ticks: u64, timescale: u32) -> u64 {
    (u128::from(ticks) * 90_000 / u128::from(timescale.max(1))) as u64
}

impl CueFilter for PluginCues {
    fn decide(&mut self, section: &[u8], context: &CueContext<'_>) -> CueOutcome {
        let stream = StreamContext {
            pid: context.pid,
            pts: context.pts,
            wall_clock: tai_now_ns(),
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
                let mut data = outcome_json(index, &out, decision.applied(section).unwrap_or_default());
                data["output"] = self.output.clone().into();
                self.events.send_channel("scte35.decision", context.channel, data);
                for point in &out.splice_points {
                    self.mark(context, point);
                }
                let splice_pts = out.splice_points.first().map(|p| p.pts);
                // The plugin gives events in its own timescale from PTS
                // 0; the packager places them by PTS.
                let events = out
                    .dash_events
                    .into_iter()
                    .map(|e| stagebox_media::dash::Event {
                        scheme: e.scheme_id_uri,
                        time: splice_pts.unwrap_or(context.pts),
                        duration: e.duration.map(|d| rescale(d, e.timescale)),
                        id: e.id,
                        body: e.body,
                    })
                    .collect();
                CueOutcome {
                    decision,
                    playlist: out.hls_tags.into_iter().map(|t| t.line).collect(),
                    splice_pts,
                    events,
                }
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
                CueDecision::Pass.into()
            }
        }
    }
}
