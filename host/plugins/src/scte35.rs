//! Running an `scte35-policy` plugin: sections in, decisions and manifest
//! annotations out, under the same limits and failure handling as nodes.

use crate::bindings::since_v0_1_0::scte35::{self as bindings, exports::stagebox::media::scte35 as wit};
use crate::error::NodeError;
use crate::host::GuestMetrics;
use crate::manifest::World;
use crate::node::{NodeLimits, NodeStats, Runner};
use crate::plugin::Plugin;
use std::sync::Arc;

/// An SCTE-35 policy: a `scte35-policy` plugin deciding about each
/// splice_info_section of a channel.
pub struct Scte35Policy {
    runner: Runner<bindings::Scte35Policy>,
}

impl Scte35Policy {
    /// Runs `plugin` as the policy `name` with its JSON `config`.
    pub fn new(plugin: Arc<Plugin>, name: &str, config: &str, limits: NodeLimits) -> Result<Scte35Policy, NodeError> {
        let runner = Runner::new(
            plugin,
            World::Scte35Policy,
            name,
            config,
            limits,
            |p, s| bindings::Scte35PolicyPre::new(p.pre.clone())?.instantiate(s),
            |b, s, c| b.stagebox_media_scte35().call_init(s, c),
        )?;
        Ok(Scte35Policy { runner })
    }

    /// Makes and initialises the instance now: a configuration the plugin
    /// refuses is reported here rather than on the first section.
    pub fn prepare(&mut self) -> Result<(), NodeError> {
        self.runner.prepare()
    }

    /// Decides about one section (table_id 0xFC to CRC_32).
    pub fn on_section(&mut self, section: &[u8], context: &wit::StreamContext) -> Result<wit::Outcome, NodeError> {
        self.runner.call(
            |out: &wit::Outcome| {
                let rewritten = match &out.decision {
                    wit::Decision::Rewrite(bytes) => bytes.len(),
                    _ => 0,
                };
                rewritten
                    + out.hls_tags.iter().map(|t| t.line.len()).sum::<usize>()
                    + out.dash_events.iter().map(|e| e.body.len()).sum::<usize>()
            },
            |b, s| b.stagebox_media_scte35().call_on_section(s, section, context),
        )
    }

    /// What happened to this policy's calls.
    pub fn stats(&self) -> NodeStats {
        self.runner.stats
    }

    /// The metrics and log drops the plugin reported.
    pub fn metrics(&self) -> GuestMetrics {
        self.runner.metrics()
    }
}
