//! Nodes: running a plugin's instance under its limits, one call at a time,
//! and replacing the instance when it breaks.

use crate::bindings::since_v0_1_0::{audio, types, video};
use crate::error::NodeError;
use crate::host::{GuestMetrics, HostState};
use crate::manifest::World;
use crate::plugin::Plugin;
use crate::runtime::EPOCH_TICK;
use stagebox_flow::{SystemClock, TaiClock};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use wasmtime::Store;

/// Time a plugin's `init` may take.
const INIT_DEADLINE: Duration = Duration::from_secs(2);

/// Counts of what happened to a node's calls. Every failure is counted here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NodeStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that returned output.
    pub completed: u64,
    /// Expected failures the plugin reported.
    pub guest_errors: u64,
    /// Traps (bugs).
    pub traps: u64,
    /// Calls stopped at their deadline.
    pub timeouts: u64,
    /// Calls stopped at the memory cap.
    pub memory_limits: u64,
    /// Outputs refused for their size.
    pub oversized_outputs: u64,
    /// Instances made (the first, then one after each failure).
    pub instantiations: u64,
}

/// Limits a node runs its plugin under.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeLimits {
    /// CPU deadline of one call.
    pub deadline: Duration,
    /// Linear memory cap of the instance.
    pub memory_bytes: usize,
    /// Largest total output of one call, in bytes of payload.
    pub max_output_bytes: usize,
}

impl NodeLimits {
    /// The plugin's requested limits at a media period: the deadline is the
    /// manifest's fraction of the period (half a frame by default).
    pub fn for_period(plugin: &Plugin, period: Duration) -> NodeLimits {
        let limits = plugin.manifest().limits;
        NodeLimits {
            deadline: period.mul_f64(limits.deadline_fraction),
            memory_bytes: limits.memory_bytes,
            max_output_bytes: 64 << 20,
        }
    }
}

/// Makes the typed bindings of a fresh instance.
pub(crate) type InstantiateFn<B> = fn(&Plugin, &mut Store<HostState>) -> wasmtime::Result<B>;
/// Calls the plugin's `init` with the node's configuration.
pub(crate) type InitFn<B> = fn(&B, &mut Store<HostState>, &str) -> wasmtime::Result<Result<(), types::Error>>;

pub(crate) struct Live<B> {
    store: Store<HostState>,
    bindings: B,
}

/// What every kind of running plugin shares: the instance, its limits and
/// its counters.
pub(crate) struct Runner<B> {
    plugin: Arc<Plugin>,
    name: Arc<str>,
    config: String,
    pub(crate) limits: NodeLimits,
    clock: Arc<dyn TaiClock>,
    metrics: Arc<Mutex<GuestMetrics>>,
    live: Option<Live<B>>,
    pub(crate) stats: NodeStats,
    instantiate: InstantiateFn<B>,
    init: InitFn<B>,
}

fn ticks(d: Duration) -> u64 {
    // One extra tick: the epoch may advance right after the deadline is set.
    (d.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1
}

fn guest_error(e: types::Error) -> NodeError {
    let code = match e.code {
        types::ErrorCode::InvalidConfig => "invalid-config",
        types::ErrorCode::InvalidInput => "invalid-input",
        types::ErrorCode::Unsupported => "unsupported",
        types::ErrorCode::NotInitialized => "not-initialized",
        types::ErrorCode::Internal => "internal",
    };
    NodeError::Guest { code, message: e.message }
}

impl<B> Runner<B> {
    /// A runner of `plugin`, which must implement `world`.
    pub(crate) fn new(
        plugin: Arc<Plugin>,
        world: World,
        name: &str,
        config: &str,
        limits: NodeLimits,
        instantiate: InstantiateFn<B>,
        init: InitFn<B>,
    ) -> Result<Runner<B>, NodeError> {
        if plugin.manifest().world != world {
            return Err(NodeError::Guest {
                code: "unsupported",
                message: format!("{} is not a {} plugin", plugin.manifest().name, world.name()),
            });
        }
        Ok(Runner {
            plugin,
            name: name.into(),
            config: config.to_owned(),
            limits,
            clock: Arc::new(SystemClock),
            metrics: Arc::default(),
            live: None,
            stats: NodeStats::default(),
            instantiate,
            init,
        })
    }

    /// Classifies a failed call from the state its store was left in, and
    /// counts it. The instance is already gone.
    fn classify(&mut self, err: wasmtime::Error, state: HostState, budget: Duration) -> NodeError {
        if state.memory_hit {
            self.stats.memory_limits += 1;
            return NodeError::MemoryLimit { cap: self.limits.memory_bytes };
        }
        if err.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            self.stats.timeouts += 1;
            return NodeError::Timeout { budget };
        }
        self.stats.traps += 1;
        let stderr = state.stderr_tail();
        let message = if stderr.is_empty() { format!("{err:#}") } else { format!("{err:#}; stderr: {stderr}") };
        tracing::warn!(node = &*self.name, "plugin trapped: {message}");
        NodeError::Trap { message }
    }

    /// Drops the live instance after a failed call and classifies the failure.
    fn fail(&mut self, err: wasmtime::Error, budget: Duration) -> NodeError {
        match self.live.take() {
            Some(live) => self.classify(err, live.store.into_data(), budget),
            None => NodeError::Instantiate(err),
        }
    }

    /// The live instance, making (and initialising) a fresh one if needed.
    fn live(&mut self) -> Result<&mut Live<B>, NodeError> {
        if self.live.is_none() {
            let network = self.plugin.granted().contains(&crate::Capability::Network);
            let state = HostState::new(
                self.name.clone(),
                self.clock.clone(),
                self.metrics.clone(),
                self.limits.memory_bytes,
                network,
            );
            let mut store = Store::new(self.plugin.runtime().engine(), state);
            store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
            store.epoch_deadline_trap();
            store.set_epoch_deadline(ticks(INIT_DEADLINE));
            self.stats.instantiations += 1;
            let bindings = match (self.instantiate)(&self.plugin, &mut store) {
                Ok(b) => b,
                Err(e) => return Err(self.classify(e, store.into_data(), INIT_DEADLINE)),
            };
            match (self.init)(&bindings, &mut store, &self.config) {
                Ok(Ok(())) => self.live = Some(Live { store, bindings }),
                Ok(Err(e)) => {
                    self.stats.guest_errors += 1;
                    return Err(guest_error(e));
                }
                Err(e) => return Err(self.classify(e, store.into_data(), INIT_DEADLINE)),
            }
        }
        // Just made or kept: present.
        self.live.as_mut().ok_or_else(|| NodeError::Instantiate(wasmtime::Error::msg("no instance")))
    }

    /// Runs one call under the deadline; classifies and counts the outcome.
    pub(crate) fn call<R>(
        &mut self,
        output_bytes: impl Fn(&R) -> usize,
        f: impl FnOnce(&B, &mut Store<HostState>) -> wasmtime::Result<Result<R, types::Error>>,
    ) -> Result<R, NodeError> {
        self.stats.calls += 1;
        let budget = self.limits.deadline;
        let live = self.live()?;
        live.store.set_epoch_deadline(ticks(budget));
        match f(&live.bindings, &mut live.store) {
            Ok(Ok(out)) => {
                let bytes = output_bytes(&out);
                if bytes > self.limits.max_output_bytes {
                    // A plugin that floods its output is broken: start afresh.
                    self.live = None;
                    self.stats.oversized_outputs += 1;
                    return Err(NodeError::OutputTooLarge { bytes, limit: self.limits.max_output_bytes });
                }
                self.stats.completed += 1;
                Ok(out)
            }
            Ok(Err(e)) => {
                self.stats.guest_errors += 1;
                Err(guest_error(e))
            }
            Err(e) => Err(self.fail(e, budget)),
        }
    }

    pub(crate) fn metrics(&self) -> GuestMetrics {
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Makes and initialises the instance now rather than on the first
    /// call, so a bad configuration is found before media flows.
    pub(crate) fn prepare(&mut self) -> Result<(), NodeError> {
        self.live().map(|_| ())
    }
}

/// A video node: a `video-node` plugin processing frames.
pub struct VideoNode {
    runner: Runner<video::VideoNode>,
}

impl VideoNode {
    /// Makes a node of `plugin` named `name` with its JSON `config`. The
    /// instance is made and initialised on the first call.
    pub fn new(plugin: Arc<Plugin>, name: &str, config: &str, limits: NodeLimits) -> Result<VideoNode, NodeError> {
        let runner = Runner::new(
            plugin,
            World::VideoNode,
            name,
            config,
            limits,
            |p, s| video::VideoNodePre::new(p.pre.clone())?.instantiate(s),
            |b, s, c| b.stagebox_media_video_processor().call_init(s, c),
        )?;
        Ok(VideoNode { runner })
    }

    /// Makes and initialises the instance now: a configuration the plugin
    /// refuses is reported here rather than on the first frame.
    pub fn prepare(&mut self) -> Result<(), NodeError> {
        self.runner.prepare()
    }

    /// Processes one frame.
    pub fn process(&mut self, frame: &types::VideoFrame) -> Result<Vec<types::VideoFrame>, NodeError> {
        self.runner.call(
            |out: &Vec<types::VideoFrame>| out.iter().map(|f| f.data.len()).sum(),
            |b, s| b.stagebox_media_video_processor().call_process(s, frame),
        )
    }

    /// What happened to this node's calls.
    pub fn stats(&self) -> NodeStats {
        self.runner.stats
    }

    /// The metrics and log drops the plugin reported.
    pub fn metrics(&self) -> GuestMetrics {
        self.runner.metrics()
    }

    /// The node's limits.
    pub fn limits(&self) -> NodeLimits {
        self.runner.limits
    }

    /// Changes the node's limits (for example when the frame rate changes).
    /// A new memory cap applies from the next instance.
    pub fn set_limits(&mut self, limits: NodeLimits) {
        self.runner.limits = limits;
    }
}

/// An audio node: an `audio-node` plugin processing blocks of PCM.
pub struct AudioNode {
    runner: Runner<audio::AudioNode>,
}

impl AudioNode {
    /// Makes a node of `plugin` named `name` with its JSON `config`.
    pub fn new(plugin: Arc<Plugin>, name: &str, config: &str, limits: NodeLimits) -> Result<AudioNode, NodeError> {
        let runner = Runner::new(
            plugin,
            World::AudioNode,
            name,
            config,
            limits,
            |p, s| audio::AudioNodePre::new(p.pre.clone())?.instantiate(s),
            |b, s, c| b.stagebox_media_audio_processor().call_init(s, c),
        )?;
        Ok(AudioNode { runner })
    }

    /// Processes one block.
    pub fn process(&mut self, block: &types::AudioBlock) -> Result<Vec<types::AudioBlock>, NodeError> {
        self.runner.call(
            |out: &Vec<types::AudioBlock>| out.iter().map(|b| b.samples.len() * 4).sum(),
            |b, s| b.stagebox_media_audio_processor().call_process(s, block),
        )
    }

    /// What happened to this node's calls.
    pub fn stats(&self) -> NodeStats {
        self.runner.stats
    }

    /// The metrics and log drops the plugin reported.
    pub fn metrics(&self) -> GuestMetrics {
        self.runner.metrics()
    }
}
