//! The wasmtime engine shared by every plugin, and its epoch ticker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel};

/// How often the epoch advances: the resolution of CPU deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The engine every plugin runs on.
///
/// - **Component model** on: plugins are components of `stagebox:media`.
/// - **Epoch interruption** on: a thread advances the epoch every
///   [`EPOCH_TICK`] and each call gets a deadline in ticks, so a plugin stuck
///   in a loop traps within one tick of its deadline. Cheaper than fuel
///   (a load and compare at loop heads and calls instead of counting every
///   instruction), and measured against wall time, which is what media
///   deadlines are.
/// - **On-demand allocation**: the box runs tens of plugin instances, each
///   long-lived, and re-instantiates only after a failure. The pooling
///   allocator's strength (thousands of short instantiations per second)
///   buys nothing here, while it would reserve every slot's memory and table
///   limits up front for the largest plugin.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    _ticker: Arc<Ticker>,
}

struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Makes the engine and starts its epoch ticker.
    pub fn new() -> Result<Runtime, wasmtime::Error> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .allocation_strategy(InstanceAllocationStrategy::OnDemand)
            // Deep recursion in a plugin traps instead of growing forever.
            .max_wasm_stack(1 << 20);
        let engine = Engine::new(&config)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (weak_engine, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| wasmtime::Error::msg(format!("starting the epoch thread: {e}")))?;
        Ok(Runtime { engine, _ticker: Arc::new(Ticker { stop }) })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
