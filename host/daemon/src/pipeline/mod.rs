//! Live pipelines: graphs of nodes joined by shared-memory flows.
//!
//! Every node runs on its own thread and writes its output to its own flow
//! in the daemon's domain (`<pipeline>/<node>`, with an id derived from the
//! two names, so it is the same across restarts). A node reads its input
//! from its upstream node's flow. Nodes share nothing else, so adding,
//! changing or removing one node stops only that node and those downstream
//! of it; every other node keeps its thread, its flow and its place in the
//! grain sequence.

pub mod encoder;
pub mod input;
pub mod node;
pub mod pattern;
pub mod process;
pub mod scte35;
pub mod spec;
pub mod video;

use crate::catalog::Catalog;
use crate::events::Events;
use crate::store::Store;
use node::{NodeContext, NodeState, NodeStatus};
use serde_json::json;
use spec::{NodeSpec, OnFailure, PipelineSpec, SpecError};
use stagebox_flow::{
    DataFormat, DataKind, DiscreteWriter, Domain, FlowDescriptor, FlowError, FlowFormat, MuxFormat, MuxKind, Rational,
    VideoCoding, VideoFormat,
};
use stagebox_plugins::{NodeLimits, Scte35Policy, VideoNode};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use uuid::Uuid;

/// A node made and checked, ready to run.
enum Prepared {
    Pattern { width: u32, height: u32, rate: Rational },
    Video { node: Box<VideoNode>, on_failure: OnFailure },
    Source { sections: Vec<Vec<u8>>, rate: Rational },
    Policy { node: Box<scte35::PolicyNode>, on_failure: OnFailure },
    Encoder(Box<encoder::EncoderNode>),
}

/// A pipeline checked whole: the graph, each node's input, output format
/// and made node.
pub struct Checked {
    spec: PipelineSpec,
    inputs: Vec<Option<usize>>,
    formats: Vec<FlowFormat>,
    prepared: Vec<Option<Prepared>>,
}

impl Checked {
    /// The pipeline.
    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }
}

struct RunningNode {
    spec: NodeSpec,
    /// The upstream node's id.
    input: Option<String>,
    flow: Uuid,
    status: Arc<NodeStatus>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Running {
    nodes: BTreeMap<String, RunningNode>,
}

/// Runs the pipelines.
pub struct Engine {
    domain: Domain,
    catalog: Catalog,
    store: Arc<Store>,
    events: Events,
    running: Mutex<BTreeMap<String, Running>>,
}

/// A pipeline could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The pipeline is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A flow could not be made.
    #[error("making flow {label}: {source}")]
    Flow {
        /// The flow's label.
        label: String,
        /// Why.
        source: FlowError,
    },
}

/// The id of the flow node `node` of pipeline `pipeline` writes.
pub fn flow_id(pipeline: &str, node: &str) -> Uuid {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("stagebox-flow:{pipeline}/{node}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn bad(field: String, message: impl Into<String>) -> SpecError {
    SpecError { field, message: message.into() }
}

fn period(rate: Rational) -> Duration {
    Duration::from_secs_f64(1.0 / rate.as_f64())
}

impl Engine {
    /// An engine writing flows into `domain`.
    pub fn new(domain: Domain, catalog: Catalog, store: Arc<Store>, events: Events) -> Engine {
        Engine { domain, catalog, store, events, running: Mutex::default() }
    }

    /// The event stream.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The plugin catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The flow domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Checks a pipeline whole, plugins and their configurations included,
    /// and makes its nodes. `enabled` says which uploaded plugins are.
    pub fn check(&self, spec: PipelineSpec, enabled: impl Fn(&str) -> bool) -> Result<Checked, SpecError> {
        let inputs = spec.check()?;
        let order = spec.upstream_first(&inputs);
        let mut formats: Vec<Option<FlowFormat>> = vec![None; spec.nodes.len()];
        let mut prepared: Vec<Option<Prepared>> = (0..spec.nodes.len()).map(|_| None).collect();
        for &i in &order {
            let at = format!("nodes[{i}]");
            let input_format = inputs[i].and_then(|up| formats[up].clone());
            let (format, made) = match &spec.nodes[i] {
                NodeSpec::TestPattern { width, height, rate, .. } => {
                    let rate = spec::parse_rate(rate).ok_or_else(|| bad(format!("{at}.rate"), "not a rate"))?;
                    let format = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, *width, *height, rate));
                    (format, Prepared::Pattern { width: *width, height: *height, rate })
                }
                NodeSpec::Scte35Source { sections, interval_ms, .. } => {
                    let rate = Rational::new(1000, u64::from(*interval_ms))
                        .map_err(|e| bad(format!("{at}.interval_ms"), e.to_string()))?;
                    let sections = sections
                        .iter()
                        .enumerate()
                        .map(|(j, s)| spec::decode_section(s).map_err(|e| bad(format!("{at}.sections[{j}]"), e)))
                        .collect::<Result<Vec<_>, _>>()?;
                    let format = FlowFormat::Data(DataFormat {
                        kind: DataKind::Scte35,
                        rate,
                        max_grain_bytes: scte35::GRAIN_BYTES,
                    });
                    (format, Prepared::Source { sections, rate })
                }
                NodeSpec::VideoPlugin { plugin, config, on_failure, .. } => {
                    let format = input_format.ok_or_else(|| bad(at.clone(), "no input format"))?;
                    let FlowFormat::Video(v) = &format else { return Err(bad(at, "the input is not video")) };
                    let (p, limits, name) = self.plugin_for(&spec, i, plugin, v.rate, &enabled)?;
                    let mut node = VideoNode::new(p, &name, &config.to_string(), limits)
                        .map_err(|e| bad(format!("{at}.plugin"), e.to_string()))?;
                    node.prepare().map_err(|e| bad(format!("{at}.config"), e.to_string()))?;
                    (format, Prepared::Video { node: Box::new(node), on_failure: *on_failure })
                }
                NodeSpec::Scte35Policy { plugin, config, on_failure, channel, pid, .. } => {
                    let format = input_format.ok_or_else(|| bad(at.clone(), "no input format"))?;
                    let FlowFormat::Data(d) = &format else { return Err(bad(at, "the input is not SCTE-35")) };
                    let (p, limits, name) = self.plugin_for(&spec, i, plugin, d.rate, &enabled)?;
                    let mut policy = Scte35Policy::new(p, &name, &config.to_string(), limits)
                        .map_err(|e| bad(format!("{at}.plugin"), e.to_string()))?;
                    policy.prepare().map_err(|e| bad(format!("{at}.config"), e.to_string()))?;
                    let node = scte35::PolicyNode {
                        policy,
                        channel: channel.clone().unwrap_or_else(|| spec.name.clone()),
                        pid: *pid,
                    };
                    (format, Prepared::Policy { node: Box::new(node), on_failure: *on_failure })
                }
                NodeSpec::Encoder { video_kbps, keyframe_ms, audio, audio_kbps, url, .. } => {
                    let format = input_format.ok_or_else(|| bad(at.clone(), "no input format"))?;
                    let node =
                        self.encoder(&at, &format, *video_kbps, *keyframe_ms, audio.as_deref(), *audio_kbps, url)?;
                    // A grain holds a picture's packets: at most the VBV
                    // buffer (two seconds of video), the audio and the
                    // tables beside it.
                    let max_grain_bytes = (u64::from(*video_kbps) * 250 + 256 * 1024).min(64 << 20) as u32;
                    let format = FlowFormat::Mux(MuxFormat { kind: MuxKind::MpegTs, rate: node.rate, max_grain_bytes });
                    (format, Prepared::Encoder(Box::new(node)))
                }
            };
            formats[i] = Some(format);
            prepared[i] = Some(made);
        }
        let formats = formats
            .into_iter()
            .map(|f| f.ok_or_else(|| bad("nodes".into(), "unreachable node")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checked { spec, inputs, formats, prepared })
    }

    /// An encoder node for a video input of `format`: the encoder opened,
    /// its audio flow found and opened.
    #[allow(clippy::too_many_arguments)]
    fn encoder(
        &self,
        at: &str,
        format: &FlowFormat,
        video_kbps: u32,
        keyframe_ms: u32,
        audio: Option<&str>,
        audio_kbps: u32,
        url: &Option<String>,
    ) -> Result<encoder::EncoderNode, SpecError> {
        let FlowFormat::Video(v) = format else { return Err(bad(at.to_owned(), "the input is not video")) };
        if v.coding != VideoCoding::V210 || !v.width.is_multiple_of(2) || !v.height.is_multiple_of(2) {
            return Err(bad(at.to_owned(), "the encoder takes v210 video of an even size"));
        }
        let audio = match audio {
            None => None,
            Some(name) => {
                let field = || format!("{at}.audio");
                let entry = self.domain.find(name).map_err(|e| bad(field(), format!("no flow {name:?}: {e}")))?;
                let reader =
                    self.domain.open_continuous(entry.descriptor.id()).map_err(|e| bad(field(), e.to_string()))?;
                let FlowFormat::Audio(a) = reader.descriptor().format().clone() else {
                    return Err(bad(field(), format!("{name:?} is not an audio flow")));
                };
                if a.sample != stagebox_flow::SampleFormat::F32
                    || a.sample_rate.denominator() != 1
                    || !(1..=2).contains(&a.channels)
                {
                    return Err(bad(field(), "32-bit float audio, 1 or 2 channels, at a whole rate"));
                }
                Some((reader, a.sample_rate))
            }
        };
        let config = stagebox_codec::EncoderConfig {
            width: v.width,
            height: v.height,
            rate: (v.rate.numerator() as u32, v.rate.denominator() as u32),
            video_bitrate: u64::from(video_kbps) * 1000,
            keyframe_s: f64::from(keyframe_ms) / 1000.0,
            preset: "veryfast".into(),
            audio: audio.as_ref().map(|(r, rate)| stagebox_codec::AudioConfig {
                rate: rate.numerator() as u32,
                channels: r.channels(),
                bitrate: u64::from(audio_kbps) * 1000,
            }),
        };
        let encoder = stagebox_codec::Encoder::new(config).map_err(|e| bad(at.to_owned(), e.to_string()))?;
        let destination = url.as_deref().map(spec::destination).transpose().map_err(|e| bad(format!("{at}.url"), e))?;
        Ok(encoder::EncoderNode { encoder, rate: v.rate, audio, destination })
    }

    /// The plugin node `i` names, its limits at `rate`, and the node's
    /// name for the plugin's logs.
    fn plugin_for(
        &self,
        spec: &PipelineSpec,
        i: usize,
        plugin: &str,
        rate: Rational,
        enabled: impl Fn(&str) -> bool,
    ) -> Result<(Arc<stagebox_plugins::Plugin>, NodeLimits, String), SpecError> {
        let node = &spec.nodes[i];
        let world = node.plugin().map_or(stagebox_plugins::World::VideoNode, |(_, w)| w);
        let p = self.catalog.resolve(plugin, world, enabled).map_err(|e| bad(format!("nodes[{i}].plugin"), e))?;
        let limits = NodeLimits::for_period(&p, period(rate));
        Ok((p, limits, format!("{}/{}", spec.name, node.id())))
    }

    /// Whether pipeline `name` runs.
    pub fn is_running(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a checked pipeline, or changes the running one of that name
    /// to it: nodes whose spec and input are unchanged keep running
    /// untouched; the others are stopped, and the new ones started.
    pub fn run(&self, mut checked: Checked) -> Result<(), StartError> {
        let name = checked.spec.name.clone();
        let mut running = self.lock();
        let was_running = running.contains_key(&name);
        let mut old = running.remove(&name).map(|r| r.nodes).unwrap_or_default();
        // Which new nodes are the same as a running one, upstream included.
        let order = checked.spec.upstream_first(&checked.inputs);
        let mut keep = vec![false; checked.spec.nodes.len()];
        for &i in &order {
            let node = &checked.spec.nodes[i];
            let input = checked.inputs[i].map(|up| checked.spec.nodes[up].id().to_owned());
            keep[i] = old.get(node.id()).is_some_and(|o| o.spec == *node && o.input == input)
                && checked.inputs[i].is_none_or(|up| keep[up]);
        }
        let mut nodes = BTreeMap::new();
        for (i, node) in checked.spec.nodes.iter().enumerate() {
            if keep[i]
                && let Some(n) = old.remove(node.id())
            {
                nodes.insert(node.id().to_owned(), n);
            }
        }
        // What is left of the old pipeline goes: stopped together, then joined.
        stop_all(old.into_values().collect());
        for &i in &order {
            if keep[i] {
                continue;
            }
            let node = &checked.spec.nodes[i];
            let prepared = checked.prepared[i].take();
            let input = checked.inputs[i].map(|up| checked.spec.nodes[up].id().to_owned());
            match self.spawn(&name, node, input, &checked.formats[i], prepared) {
                Ok(n) => {
                    nodes.insert(node.id().to_owned(), n);
                }
                Err(e) => {
                    stop_all(nodes.into_values().collect());
                    self.events.send("pipeline.stopped", &name, None, json!({ "error": e.to_string() }));
                    return Err(e);
                }
            }
        }
        // Answer once the new nodes are past starting (each sets its state
        // first thing on its thread), so a caller sees them running.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while nodes.values().any(|n| n.status.state().0 == NodeState::Starting) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        running.insert(name.clone(), Running { nodes });
        let kept: Vec<&str> = checked.spec.nodes.iter().zip(&keep).filter(|(_, k)| **k).map(|(n, _)| n.id()).collect();
        let kind = if was_running { "pipeline.updated" } else { "pipeline.started" };
        self.events.send(kind, &name, None, json!({ "kept": kept }));
        Ok(())
    }

    fn spawn(
        &self,
        pipeline: &str,
        node: &NodeSpec,
        input: Option<String>,
        format: &FlowFormat,
        prepared: Option<Prepared>,
    ) -> Result<RunningNode, StartError> {
        let label = format!("{pipeline}/{}", node.id());
        let flow = flow_id(pipeline, node.id());
        let flow_err = |source| StartError::Flow { label: label.clone(), source };
        let descriptor = FlowDescriptor::new(flow, &label, format.clone())
            .map_err(|e| flow_err(FlowError::InvalidArgument(e.to_string())))?;
        let writer = self.domain.create_discrete(&descriptor).map_err(flow_err)?;
        let reader_of =
            |up: &Option<String>| up.as_ref().map(|u| input::Input::new(self.domain.clone(), flow_id(pipeline, u)));
        let upstream = reader_of(&input);
        let status = Arc::new(NodeStatus::default());
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = NodeContext {
            pipeline: pipeline.to_owned(),
            node: node.id().to_owned(),
            status: status.clone(),
            stop: stop.clone(),
            events: self.events.clone(),
            store: self.store.clone(),
        };
        let prepared = prepared.ok_or_else(|| flow_err(FlowError::InvalidArgument("node not prepared".into())))?;
        let video_format = video::wit_format(format);
        let thread = std::thread::Builder::new()
            .name(format!("node-{}", node.id()))
            .spawn(move || {
                let result = run_node(&ctx, prepared, upstream, writer, video_format);
                match result {
                    Ok(()) => ctx.status.set_state(NodeState::Stopped),
                    Err(e) => ctx.report("node.failed", NodeState::Failed, &e.to_string(), json!({ "kind": "flow" })),
                }
            })
            .map_err(|e| flow_err(FlowError::InvalidArgument(format!("starting its thread: {e}"))))?;
        Ok(RunningNode { spec: node.clone(), input, flow, status, stop, thread: Some(thread) })
    }

    /// Stops pipeline `name`; returns whether it ran.
    pub fn stop(&self, name: &str) -> bool {
        let Some(running) = self.lock().remove(name) else { return false };
        stop_all(running.nodes.into_values().collect());
        self.events.send("pipeline.stopped", name, None, json!({}));
        true
    }

    /// Stops every pipeline (at shutdown).
    pub fn stop_all(&self) {
        let names: Vec<String> = self.lock().keys().cloned().collect();
        for name in names {
            self.stop(&name);
        }
    }

    /// The live status of pipeline `name`'s nodes, by node id, if it runs.
    pub fn status(&self, name: &str) -> Option<serde_json::Value> {
        let running = self.lock();
        let r = running.get(name)?;
        let nodes: serde_json::Map<String, serde_json::Value> = r
            .nodes
            .iter()
            .map(|(id, n)| {
                let mut s = n.status.to_json();
                s["flow"] = json!({ "id": n.flow, "label": format!("{name}/{id}") });
                (id.clone(), s)
            })
            .collect();
        Some(serde_json::Value::Object(nodes))
    }

    /// Which pipeline and node write flow `id`, if one of ours does, with
    /// that node's status.
    pub fn writer_of(&self, id: Uuid) -> Option<(String, String, Arc<NodeStatus>)> {
        let running = self.lock();
        running.iter().find_map(|(p, r)| {
            r.nodes.iter().find(|(_, n)| n.flow == id).map(|(node, n)| (p.clone(), node.clone(), n.status.clone()))
        })
    }

    /// Input grains the daemon's nodes reading flow `id` were too slow to
    /// read (lost to them).
    pub fn missed_by_readers(&self, id: Uuid) -> u64 {
        let running = self.lock();
        running
            .iter()
            .flat_map(|(p, r)| r.nodes.values().map(move |n| (p, n)))
            .filter(|(p, n)| n.input.as_deref().is_some_and(|up| flow_id(p, up) == id))
            .map(|(_, n)| n.status.missed_in.load(Relaxed))
            .sum()
    }

    /// Prometheus lines for every running node.
    pub fn write_metrics(&self, out: &mut String) {
        let running = self.lock();
        let families: [Family; 6] = [
            ("stagebox_node_grains_in_total", "counter", "Grains a node read.", |s| s.grains_in.load(Relaxed)),
            ("stagebox_node_grains_out_total", "counter", "Grains a node wrote.", |s| s.grains_out.load(Relaxed)),
            ("stagebox_node_missed_in_total", "counter", "Input grains a node was too slow to read.", |s| {
                s.missed_in.load(Relaxed)
            }),
            (
                "stagebox_node_invalid_out_total",
                "counter",
                "Grains a node marked invalid while its plugin was down.",
                |s| s.invalid_out.load(Relaxed),
            ),
            (
                "stagebox_node_failures_total",
                "counter",
                "Plugin failures (traps, timeouts, memory cap, errors).",
                |s| s.failures.load(Relaxed),
            ),
            ("stagebox_node_restarts_total", "counter", "Fresh plugin instances after a failure.", |s| {
                s.restarts.load(Relaxed)
            }),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (p, r) in running.iter() {
                for (id, n) in &r.nodes {
                    let _ = writeln!(out, "{name}{{pipeline=\"{p}\",node=\"{id}\"}} {}", value(&n.status));
                }
            }
        }
        let name = "stagebox_node_up";
        let _ =
            writeln!(out, "# HELP {name} 1 if a node processes normally, 0 if it is backing off, bypassed or failed.");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (p, r) in running.iter() {
            for (id, n) in &r.nodes {
                let up = matches!(n.status.state().0, NodeState::Running | NodeState::Starting);
                let _ = writeln!(out, "{name}{{pipeline=\"{p}\",node=\"{id}\"}} {}", u8::from(up));
            }
        }
    }
}

/// A metric family of node counters: name, type, help, the counter.
type Family = (&'static str, &'static str, &'static str, fn(&NodeStatus) -> u64);

fn run_node(
    ctx: &NodeContext,
    prepared: Prepared,
    input: Option<input::Input>,
    writer: DiscreteWriter,
    video_format: Option<stagebox_plugins::types::VideoFormat>,
) -> Result<(), FlowError> {
    let missing = || FlowError::InvalidArgument("the node has no input".into());
    match prepared {
        Prepared::Pattern { width, height, rate } => pattern::run(ctx, writer, width, height, rate),
        Prepared::Source { sections, rate } => scte35::run_source(ctx, writer, &sections, rate),
        Prepared::Video { node, on_failure } => {
            let format =
                video_format.ok_or_else(|| FlowError::InvalidArgument("not a video format plugins take".into()))?;
            let processor = video::VideoProcessor { node: *node, format };
            process::run(ctx, processor, input.ok_or_else(missing)?, writer, on_failure)
        }
        Prepared::Policy { node, on_failure } => {
            process::run(ctx, *node, input.ok_or_else(missing)?, writer, on_failure)
        }
        Prepared::Encoder(node) => encoder::run(ctx, *node, input.ok_or_else(missing)?, writer),
    }
}

/// Asks every node to stop, then waits for each.
fn stop_all(mut nodes: Vec<RunningNode>) {
    for n in &nodes {
        n.stop.store(true, Relaxed);
    }
    for n in &mut nodes {
        if let Some(t) = n.thread.take()
            && t.join().is_err()
        {
            tracing::error!("node {} panicked", n.spec.id());
        }
    }
}
