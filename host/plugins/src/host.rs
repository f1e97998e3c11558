//! What a plugin instance sees of the host: its store state, the imports of
//! `stagebox:media` (log, clock, metrics), WASI without ambient authority,
//! and the memory limiter.

use crate::bindings::since_v0_1_0::{clock, log, metrics, types};
use stagebox_flow::TaiClock;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Most log messages a node may write per second; more are dropped and counted.
const LOG_PER_SECOND: u32 = 200;
/// Bytes of a plugin's stderr kept to explain a trap.
const STDERR_BYTES: usize = 16 << 10;
/// Longest log message kept.
const LOG_MESSAGE_BYTES: usize = 4096;

/// Metrics a node reported through `stagebox:media/metrics`, kept across
/// instance restarts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GuestMetrics {
    /// Counters by name.
    pub counters: BTreeMap<String, u64>,
    /// Gauges by name.
    pub gauges: BTreeMap<String, f64>,
    /// Log messages dropped by the rate limit.
    pub logs_dropped: u64,
}

/// The state of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) node: Arc<str>,
    clock: Arc<dyn TaiClock>,
    pub(crate) metrics: Arc<Mutex<GuestMetrics>>,
    pub(crate) memory_cap: usize,
    pub(crate) memory_hit: bool,
    pub(crate) stderr: MemoryOutputPipe,
    log_window: (u64, u32),
}

impl HostState {
    pub(crate) fn new(
        node: Arc<str>,
        clock: Arc<dyn TaiClock>,
        metrics: Arc<Mutex<GuestMetrics>>,
        memory_cap: usize,
        network: bool,
    ) -> HostState {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let mut wasi = WasiCtx::builder();
        // No preopened folders, no environment, no arguments, no stdin. The
        // network only when granted; WASI denies every address otherwise.
        wasi.stderr(stderr.clone());
        if network {
            wasi.inherit_network().allow_ip_name_lookup(true);
        }
        HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            node,
            clock,
            metrics,
            memory_cap,
            memory_hit: false,
            stderr,
            log_window: (0, 0),
        }
    }

    /// The last lines the plugin wrote to stderr (a panic message, usually).
    pub(crate) fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        String::from_utf8_lossy(&bytes)
            .trim()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn metrics(&self) -> std::sync::MutexGuard<'_, GuestMetrics> {
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            // Trap at once rather than let the guest see a failed grow: a
            // plugin at its cap is broken, and the node restarts it.
            self.memory_hit = true;
            return Err(wasmtime::Error::msg(format!("memory cap of {} bytes reached", self.memory_cap)));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, mut message: String) {
        let second = self.clock.now_tai_ns() / 1_000_000_000;
        if self.log_window.0 != second {
            self.log_window = (second, 0);
        }
        self.log_window.1 += 1;
        if self.log_window.1 > LOG_PER_SECOND {
            self.metrics().logs_dropped += 1;
            return;
        }
        if message.len() > LOG_MESSAGE_BYTES {
            let mut cut = LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let node = &*self.node;
        match level {
            log::Level::Trace => tracing::trace!(node, "{message}"),
            log::Level::Debug => tracing::debug!(node, "{message}"),
            log::Level::Info => tracing::info!(node, "{message}"),
            log::Level::Warn => tracing::warn!(node, "{message}"),
            log::Level::Error => tracing::error!(node, "{message}"),
        }
    }
}

impl clock::Host for HostState {
    fn now(&mut self) -> u64 {
        self.clock.now_tai_ns()
    }

    fn locked(&mut self) -> bool {
        self.clock.is_locked()
    }
}

/// Most distinct metric names a node may create.
const MAX_METRICS: usize = 256;

impl metrics::Host for HostState {
    fn counter_add(&mut self, name: String, delta: u64) {
        let mut m = self.metrics();
        if m.counters.len() < MAX_METRICS || m.counters.contains_key(&name) {
            let c = m.counters.entry(name).or_default();
            *c = c.saturating_add(delta);
        }
    }

    fn gauge_set(&mut self, name: String, value: f64) {
        let mut m = self.metrics();
        if m.gauges.len() < MAX_METRICS || m.gauges.contains_key(&name) {
            m.gauges.insert(name, value);
        }
    }
}
