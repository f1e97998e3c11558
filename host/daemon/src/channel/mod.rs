//! The running distributor channels of `stageboxd`: each one a
//! `stagebox_io::Channel`, its status sent on the event stream as it
//! changes, and its SCTE-35 and caption plugins made per output.

pub mod captions;
pub mod cues;
pub mod ladder;
pub mod spec;

use crate::catalog::Catalog;
use crate::events::Events;
use crate::markers::Markers;
use spec::{ChannelSpec, FieldError, OutputSpec};
use stagebox_io::cue::CueFilter;
use stagebox_io::failover::Source;
use stagebox_io::output::{HlsStream, OutputConfig, OutputPlugins};
use stagebox_io::status::ChannelStatus;
use stagebox_io::{Channel, ChannelConfig, IoError};
use stagebox_plugins::{CaptionConverter, NodeLimits, Scte35Policy, World};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The deadline period of an output's SCTE-35 plugin: it runs on the
/// channel's task, so a cue may hold the channel this long at most (times
/// the plugin's deadline fraction).
const CUE_PERIOD: Duration = Duration::from_millis(20);

/// The deadline period of an output's caption plugin: one picture's
/// cc_data at a time, on the output's own task.
const CAPTION_PERIOD: Duration = Duration::from_millis(40);

/// How often a running channel's status goes on the event stream.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// A channel checked whole, its plugins made: ready to start.
pub struct Checked {
    /// The description.
    pub spec: ChannelSpec,
    config: ChannelConfig,
    outputs: Vec<(OutputConfig, OutputPlugins)>,
}

/// An output checked whole.
pub struct CheckedOutput {
    config: OutputConfig,
    plugins: OutputPlugins,
}

struct Running {
    channel: Arc<Channel>,
    pump: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

/// The channels that run.
pub struct Distributor {
    events: Events,
    running: Mutex<BTreeMap<String, Running>>,
    markers: Arc<Markers>,
}

impl Distributor {
    /// No channel running yet.
    pub fn new(events: Events) -> Distributor {
        Distributor { events, running: Mutex::default(), markers: Arc::default() }
    }

    /// Where channel events go.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The running channels' timeline markers.
    pub fn markers(&self) -> &Markers {
        &self.markers
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks `spec` whole and makes its outputs' plugins (blocking: it
    /// may compile a plugin). `enabled` says whether an uploaded plugin may
    /// run.
    pub fn check(
        &self,
        catalog: &Catalog,
        spec: ChannelSpec,
        enabled: impl Fn(&str) -> bool,
    ) -> Result<Checked, FieldError> {
        let config = spec.config()?;
        let mut outputs = Vec::new();
        for (i, output) in spec.outputs.iter().enumerate() {
            let checked = self
                .check_output(catalog, &spec.name, output, &enabled)
                .map_err(|e| FieldError { field: format!("outputs[{i}].{}", e.field), why: e.why })?;
            outputs.push((checked.config, checked.plugins));
        }
        Ok(Checked { spec, config, outputs })
    }

    /// Checks one output of channel `channel` and makes its plugins.
    pub fn check_output(
        &self,
        catalog: &Catalog,
        channel: &str,
        output: &OutputSpec,
        enabled: impl Fn(&str) -> bool,
    ) -> Result<CheckedOutput, FieldError> {
        let config = output.config()?;
        let bad = |field: &str, why: String| FieldError { field: field.into(), why };
        let name = format!("{channel}/{}", output.id);
        let cues = match &output.scte35 {
            None => None,
            Some(cue) => {
                let plugin =
                    catalog.resolve(&cue.plugin, World::Scte35Policy, &enabled).map_err(|e| bad("scte35.plugin", e))?;
                let limits = NodeLimits::for_period(&plugin, CUE_PERIOD);
                let mut policy = Scte35Policy::new(plugin, &name, &cue.config_text(), limits)
                    .map_err(|e| bad("scte35.plugin", e.to_string()))?;
                policy.prepare().map_err(|e| bad("scte35.config", e.to_string()))?;
                let filter = cues::PluginCues {
                    policy,
                    events: self.events.clone(),
                    markers: self.markers.clone(),
                    output: output.id.clone(),
                    seen: 0,
                };
                Some(Box::new(filter) as Box<dyn CueFilter>)
            }
        };
        let captions = match &output.captions {
            None => None,
            Some(spec) => {
                let plugin = catalog
                    .resolve(&spec.plugin, World::CaptionConverter, &enabled)
                    .map_err(|e| bad("captions.plugin", e))?;
                let limits = NodeLimits::for_period(&plugin, CAPTION_PERIOD);
                let mut converter = CaptionConverter::new(plugin, &name, &spec.config_text(), limits)
                    .map_err(|e| bad("captions.plugin", e.to_string()))?;
                converter.prepare().map_err(|e| bad("captions.config", e.to_string()))?;
                let decoder = captions::PluginCaptions {
                    converter,
                    events: self.events.clone(),
                    channel: channel.to_owned(),
                    output: output.id.clone(),
                };
                Some(Box::new(decoder) as Box<dyn stagebox_io::captions::CaptionDecoder>)
            }
        };
        let ladder = match &config.url {
            stagebox_io::url::OutputUrl::Hls(url) => {
                ladder::from_url(url).map_err(|e| bad("url", format!("ladder: {e}")))?
            }
            _ => None,
        };
        let ladder = ladder.map(|l| Box::new(l) as Box<dyn stagebox_io::transcode::Transcoder>);
        Ok(CheckedOutput { config, plugins: OutputPlugins { cues, captions, ladder } })
    }

    /// Whether channel `name` runs.
    pub fn is_running(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    fn channel(&self, name: &str) -> Option<Arc<Channel>> {
        self.lock().get(name).map(|r| r.channel.clone())
    }

    /// HLS output `output` of running channel `channel`.
    pub fn hls(&self, channel: &str, output: &str) -> Option<Arc<HlsStream>> {
        self.channel(channel)?.hls(output)
    }

    /// The HLS outputs of running channel `channel`, by output name.
    pub fn hls_all(&self, channel: &str) -> Option<Vec<(String, Arc<HlsStream>)>> {
        self.channel(channel).map(|c| c.hls_all())
    }

    /// The status of running channel `name`.
    pub fn status(&self, name: &str) -> Option<ChannelStatus> {
        self.channel(name).map(|c| c.status())
    }

    /// Starts a checked channel (stopping a running one of that name first).
    pub async fn start(&self, checked: Checked) -> Result<(), IoError> {
        let name = checked.spec.name.clone();
        self.stop(&name);
        let channel = Arc::new(Channel::start(checked.config, checked.outputs).await?);
        let pump = tokio::spawn(pump(channel.clone(), self.events.clone()));
        self.lock().insert(name.clone(), Running { channel, pump });
        self.events.send_channel("channel.started", &name, serde_json::json!({}));
        tracing::info!("channel {name} started");
        Ok(())
    }

    /// Stops channel `name`; whether it ran.
    pub fn stop(&self, name: &str) -> bool {
        let stopped = self.lock().remove(name).is_some();
        self.markers.clear(name);
        if stopped {
            self.events.send_channel("channel.stopped", name, serde_json::json!({}));
            tracing::info!("channel {name} stopped");
        }
        stopped
    }

    /// Adds a checked output to running channel `name`.
    pub async fn add_output(&self, name: &str, output: CheckedOutput) -> Result<(), IoError> {
        let channel = self.channel(name).ok_or(IoError::Stopped)?;
        let id = output.config.id.clone();
        channel.add_output(output.config, output.plugins).await?;
        self.events.send_channel("channel.output_added", name, serde_json::json!({ "output": id }));
        Ok(())
    }

    /// Removes output `id` from running channel `name`.
    pub async fn remove_output(&self, name: &str, id: &str) -> Result<(), IoError> {
        let channel = self.channel(name).ok_or(IoError::Stopped)?;
        channel.remove_output(id).await?;
        self.events.send_channel("channel.output_removed", name, serde_json::json!({ "output": id }));
        Ok(())
    }

    /// Selects the input of running channel `name`.
    pub async fn select(&self, name: &str, source: Source) -> Result<(), IoError> {
        self.channel(name).ok_or(IoError::Stopped)?.select(source).await
    }
}

/// Sends a running channel's status on the event stream every second,
/// and a `channel.switched` event when its input changes.
async fn pump(channel: Arc<Channel>, events: Events) {
    let mut ticker = tokio::time::interval(STATUS_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut switches = 0;
    loop {
        ticker.tick().await;
        let status = channel.status();
        if status.switches != switches {
            switches = status.switches;
            if let Some(last) = status.last_switch {
                events.send_channel("channel.switched", channel.name(), serde_json::json!(last));
            }
        }
        events.send_channel("channel.status", channel.name(), serde_json::json!(status));
    }
}
