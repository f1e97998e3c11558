//! SCTE-35 nodes: a source that sends configured sections on a timer, and
//! a policy node that runs an `scte35-policy` plugin on every section,
//! reports each decision on the event stream and writes what passes to
//! its output flow.

use super::input::Grain;
use super::node::{NodeContext, paced};
use super::process::{Failure, Processor};
use super::video::failure_kind;
use base64::Engine as _;
use serde_json::json;
use stagebox_flow::{DiscreteWriter, FlowError, Rational};
use stagebox_plugins::Scte35Policy;
use stagebox_plugins::types::{Decision, HlsDialect, Outcome, SpliceKind, StreamContext};

/// Capacity of one grain of an SCTE-35 flow: the largest section (4098
/// bytes), rounded up.
pub const GRAIN_BYTES: u32 = 4160;

fn write(writer: &mut DiscreteWriter, index: u64, timestamp: u64, section: &[u8]) -> Result<(), FlowError> {
    let mut grain = writer.grant(index)?;
    grain.set_len(section.len())?;
    grain.payload_mut()[..section.len()].copy_from_slice(section);
    grain.set_timestamp(timestamp);
    grain.commit()
}

/// Sends `sections` in turn, one per grain of `rate`, until asked to stop.
pub fn run_source(
    ctx: &NodeContext,
    mut writer: DiscreteWriter,
    sections: &[Vec<u8>],
    rate: Rational,
) -> Result<(), FlowError> {
    paced(ctx, rate, |index| {
        let section = &sections[(index % sections.len() as u64) as usize];
        write(&mut writer, index, stagebox_flow::index_to_timestamp(index, rate), section)
    })
}

/// An `scte35-policy` plugin and what it is told about the stream.
pub struct PolicyNode {
    /// The plugin.
    pub policy: Scte35Policy,
    /// The channel name the plugin is told.
    pub channel: String,
    /// The PID the plugin is told.
    pub pid: u16,
}

pub(crate) fn outcome_json(index: u64, out: &Outcome, section: &[u8]) -> serde_json::Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let decision = match &out.decision {
        Decision::Pass => "pass",
        Decision::Drop => "drop",
        Decision::Rewrite(_) => "rewrite",
    };
    json!({
        "index": index,
        "decision": decision,
        "section": b64(section),
        "hls_tags": out.hls_tags.iter().map(|t| json!({
            "dialect": match t.dialect {
                HlsDialect::Daterange => "daterange",
                HlsDialect::CueOutIn => "cue_out_in",
                HlsDialect::Oatcls => "oatcls",
            },
            "line": t.line,
        })).collect::<Vec<_>>(),
        "dash_events": out.dash_events.iter().map(|e| json!({
            "scheme_id_uri": e.scheme_id_uri,
            "presentation_time": e.presentation_time,
            "duration": e.duration,
            "timescale": e.timescale,
            "id": e.id,
            "body": e.body,
        })).collect::<Vec<_>>(),
        "splice_points": out.splice_points.iter().map(|p| json!({
            "pts": p.pts,
            "kind": match p.kind { SpliceKind::Out => "out", SpliceKind::In => "in" },
            "duration": p.duration,
            "event_id": p.event_id,
        })).collect::<Vec<_>>(),
    })
}

/// The 33-bit 90 kHz clock value of a TAI time.
fn pts_of(tai_ns: u64) -> u64 {
    stagebox_media::ts::ns_to_ticks(tai_ns) % stagebox_media::ts::WRAP
}

impl Processor for PolicyNode {
    fn call(&mut self, ctx: &NodeContext, grain: &mut Grain) -> Result<Option<Vec<u8>>, Failure> {
        let context = StreamContext {
            pid: self.pid,
            pts: pts_of(grain.timestamp),
            wall_clock: grain.timestamp,
            channel: self.channel.clone(),
        };
        let out = self.policy.on_section(&grain.data, &context).map_err(|e| (failure_kind(&e), e.to_string()))?;
        let section = match &out.decision {
            Decision::Pass => grain.data.clone(),
            Decision::Drop => Vec::new(),
            Decision::Rewrite(bytes) => bytes.clone(),
        };
        if section.len() > GRAIN_BYTES as usize {
            return Err(("bad_output", format!("a rewritten section of {} bytes", section.len())));
        }
        ctx.events.send("scte35.decision", &ctx.pipeline, Some(&ctx.node), outcome_json(grain.index, &out, &section));
        Ok(Some(section))
    }

    fn write(&self, writer: &mut DiscreteWriter, grain: &Grain, payload: &[u8]) -> Result<(), FlowError> {
        write(writer, grain.index, grain.timestamp, payload)
    }

    fn is_empty(&self, grain: &Grain) -> bool {
        grain.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pts_wraps_at_33_bits() {
        assert_eq!(pts_of(1_000_000_000), 90_000);
        // 2^33 + 1 ticks is a whole number of ns (a multiple of 9 ticks).
        let ticks = (1u64 << 33) + 1;
        assert_eq!(pts_of(ticks * 100_000 / 9), 1);
    }
}
