//! The bundled SCTE-35 policy plugin. The logic is
//! `stagebox_media::scte35::policy`, the same code the host tests, fuzzes
//! and benchmarks natively; this crate only maps it to the WIT world.
//!
//! Configuration (JSON, all optional):
//!
//! ```json
//! {
//!   "rules": [
//!     { "match": { "segmentation_type_ids": [48, 49] }, "action": "drop" },
//!     { "match": { "command_types": [5] }, "action": { "rewrite": { "remove_descriptor_tags": [0] } } }
//!   ],
//!   "default": "pass",
//!   "hls": ["daterange", "cue_out_in", "oatcls"],
//!   "dash": ["urn:scte:scte35:2013:xml", "urn:scte:scte35:2014:xml+bin"],
//!   "dash_timescale": 90000
//! }
//! ```

use stagebox_media::scte35::policy::{self, Policy};
use stagebox_sdk::scte35::*;

struct Scte35 {
    policy: Policy,
}

impl Scte35Policy for Scte35 {
    fn new(config: &str) -> Result<Self, Error> {
        let policy = Policy::from_json(config)
            .map_err(|e| Error { code: ErrorCode::InvalidConfig, message: format!("SCTE-35 policy config: {e}") })?;
        Ok(Scte35 { policy })
    }

    fn on_section(&mut self, section: Vec<u8>, context: StreamContext) -> Result<Outcome, Error> {
        let ctx = policy::StreamContext { pts: context.pts, wall_clock_tai_ns: context.wall_clock };
        let out = self
            .policy
            .on_section(&section, &ctx)
            .map_err(|e| Error { code: ErrorCode::InvalidInput, message: e.to_string() })?;
        Ok(Outcome {
            decision: match out.decision {
                policy::Decision::Pass => Decision::Pass,
                policy::Decision::Drop => Decision::Drop,
                policy::Decision::Rewrite(bytes) => Decision::Rewrite(bytes),
            },
            hls_tags: out
                .hls_tags
                .into_iter()
                .map(|t| HlsTag {
                    dialect: match t.dialect {
                        policy::HlsDialect::Daterange => HlsDialect::Daterange,
                        policy::HlsDialect::CueOutIn => HlsDialect::CueOutIn,
                        policy::HlsDialect::Oatcls => HlsDialect::Oatcls,
                    },
                    line: t.line,
                })
                .collect(),
            dash_events: out
                .dash_events
                .into_iter()
                .map(|e| DashEvent {
                    scheme_id_uri: e.scheme.uri().to_string(),
                    presentation_time: e.presentation_time,
                    duration: e.duration,
                    timescale: e.timescale,
                    id: e.id,
                    body: e.body,
                })
                .collect(),
            splice_points: out
                .splice_points
                .into_iter()
                .map(|p| SplicePoint {
                    pts: p.pts,
                    kind: match p.kind {
                        policy::SpliceKind::Out => SpliceKind::Out,
                        policy::SpliceKind::In => SpliceKind::In,
                    },
                    duration: p.duration,
                    event_id: p.event_id,
                })
                .collect(),
        })
    }
}

stagebox_sdk::export_scte35_policy!(Scte35);
