//! What every running node shares: its live status, its stop flag, how it
//! reports failures (status, event stream, audit log), and the back-off
//! that decides when a failed plugin is tried again.

use super::spec::OnFailure;
use crate::events::Events;
use crate::store::{AuditRecord, Store};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The first back-off after a failure.
pub const BACKOFF_START: Duration = Duration::from_millis(100);
/// The longest back-off.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A node that ran this long without failing starts again from
/// [`BACKOFF_START`] at its next failure.
pub const BACKOFF_RESET: Duration = Duration::from_secs(10);
/// How long a node waits for input before it looks at its stop flag.
pub const POLL: Duration = Duration::from_millis(100);

/// What a node is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Made, not yet processing.
    Starting,
    /// Processing.
    Running,
    /// Its plugin failed; it is waiting to try a fresh instance.
    BackingOff,
    /// Its plugin failed; input passes through unchanged.
    Bypassed,
    /// It stopped on an error it cannot recover from (see `last_error`).
    Failed,
    /// Stopped.
    Stopped,
}

/// A node's live counters and state, shared between its thread and the API.
#[derive(Debug)]
pub struct NodeStatus {
    /// Grains read from the input.
    pub grains_in: AtomicU64,
    /// Grains written to the output (or decisions made, for a policy).
    pub grains_out: AtomicU64,
    /// Input grains lost: overwritten before this node read them.
    pub missed_in: AtomicU64,
    /// Output grains marked invalid because the plugin was down.
    pub invalid_out: AtomicU64,
    /// Plugin failures.
    pub failures: AtomicU64,
    /// Fresh instances that served a grain after a failure.
    pub restarts: AtomicU64,
    /// The last index written (or read, for a policy).
    pub last_index: AtomicU64,
    state: Mutex<(NodeState, Option<String>)>,
}

impl Default for NodeStatus {
    fn default() -> Self {
        NodeStatus {
            grains_in: AtomicU64::new(0),
            grains_out: AtomicU64::new(0),
            missed_in: AtomicU64::new(0),
            invalid_out: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            last_index: AtomicU64::new(u64::MAX),
            state: Mutex::new((NodeState::Starting, None)),
        }
    }
}

impl NodeStatus {
    /// The state and the last error.
    pub fn state(&self) -> (NodeState, Option<String>) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Sets the state, keeping the last error.
    pub fn set_state(&self, state: NodeState) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 = state;
    }

    fn set_error(&self, state: NodeState, error: String) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = (state, Some(error));
    }

    /// The status as the API shows it.
    pub fn to_json(&self) -> serde_json::Value {
        let (state, last_error) = self.state();
        let last = self.last_index.load(Relaxed);
        serde_json::json!({
            "state": state,
            "last_error": last_error,
            "grains_in": self.grains_in.load(Relaxed),
            "grains_out": self.grains_out.load(Relaxed),
            "missed_in": self.missed_in.load(Relaxed),
            "invalid_out": self.invalid_out.load(Relaxed),
            "failures": self.failures.load(Relaxed),
            "restarts": self.restarts.load(Relaxed),
            "last_index": (last != u64::MAX).then_some(last),
        })
    }
}

/// What a node's thread is given.
#[derive(Clone)]
pub struct NodeContext {
    /// The pipeline's name.
    pub pipeline: String,
    /// The node's id.
    pub node: String,
    /// Its live status.
    pub status: Arc<NodeStatus>,
    /// Set to make the thread return.
    pub stop: Arc<AtomicBool>,
    /// The event stream.
    pub events: Events,
    /// For the audit log.
    pub store: Arc<Store>,
}

impl NodeContext {
    /// Whether the node was asked to stop.
    pub fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }

    /// Records a plugin failure, or a fatal error, in the status, on the
    /// event stream and in the audit log.
    pub fn report(&self, kind: &'static str, state: NodeState, error: &str, data: serde_json::Value) {
        tracing::warn!(pipeline = %self.pipeline, node = %self.node, "{kind}: {error}");
        self.status.set_error(state, error.to_owned());
        let mut data = data;
        if let Some(map) = data.as_object_mut() {
            map.insert("error".into(), error.into());
        }
        self.events.send(kind, &self.pipeline, Some(&self.node), data);
        let record = AuditRecord {
            at_ms: crate::api::now_ms(),
            who: "stageboxd".into(),
            from: String::new(),
            what: format!("{kind} {}/{}: {error}", self.pipeline, self.node),
            status: 0,
        };
        if let Err(e) = self.store.append_audit(&record) {
            tracing::error!("audit log write failed: {e}");
        }
    }

    /// A plugin call failed on grain `index`: counts it, tells the
    /// supervisor, reports it, and returns the state the node is now in.
    pub fn plugin_failed(&self, supervisor: &mut Supervisor, kind: &str, error: &str, index: u64) -> NodeState {
        self.status.failures.fetch_add(1, Relaxed);
        let (state, backoff) = supervisor.failed(Instant::now());
        let event = if state == NodeState::Bypassed { "node.bypassed" } else { "node.failed" };
        let data = serde_json::json!({ "kind": kind, "index": index, "backoff_ms": backoff.as_millis() as u64 });
        self.report(event, state, error, data);
        state
    }

    /// Announces that a node is back after a failure.
    pub fn restarted(&self) {
        self.status.restarts.fetch_add(1, Relaxed);
        self.status.set_state(NodeState::Running);
        tracing::info!(pipeline = %self.pipeline, node = %self.node, "plugin node restarted");
        let n = self.status.restarts.load(Relaxed);
        self.events.send("node.restarted", &self.pipeline, Some(&self.node), serde_json::json!({ "restarts": n }));
    }
}

/// Calls `write` once for each grain of `rate` as its time comes (the grain
/// clock: grain `n` at `n / rate` seconds of TAI), until asked to stop. A
/// grain whose time passed while the last was written is skipped: a source
/// never runs ahead of or behind time.
pub fn paced<E>(
    ctx: &NodeContext,
    rate: stagebox_flow::Rational,
    mut write: impl FnMut(u64) -> Result<(), E>,
) -> Result<(), E> {
    use stagebox_flow::{SystemClock, current_index, ns_until_index};
    let clock = SystemClock;
    ctx.status.set_state(NodeState::Running);
    let mut last: Option<u64> = None;
    while !ctx.stopping() {
        let now = current_index(&clock, rate);
        if last.is_some_and(|l| now <= l) {
            std::thread::sleep(Duration::from_nanos(ns_until_index(&clock, now + 1, rate)).min(POLL));
            continue;
        }
        write(now)?;
        ctx.status.grains_out.fetch_add(1, Relaxed);
        ctx.status.last_index.store(now, Relaxed);
        last = Some(now);
    }
    Ok(())
}

/// When a failed plugin may be called again.
#[derive(Debug)]
pub struct Supervisor {
    policy: OnFailure,
    backoff: Duration,
    retry_at: Option<Instant>,
    last_failure: Option<Instant>,
    bypassed: bool,
}

/// What the node does with a grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Call the plugin.
    Call,
    /// The plugin is backing off: mark the output invalid.
    Invalid,
    /// The plugin is out of the path: pass the input on.
    PassThrough,
}

impl Supervisor {
    /// A supervisor for a node with this failure policy.
    pub fn new(policy: OnFailure) -> Supervisor {
        Supervisor { policy, backoff: BACKOFF_START, retry_at: None, last_failure: None, bypassed: false }
    }

    /// What to do with the grain arriving at `now`.
    pub fn action(&self, now: Instant) -> Action {
        if self.bypassed {
            Action::PassThrough
        } else if self.retry_at.is_some_and(|t| now < t) {
            Action::Invalid
        } else {
            Action::Call
        }
    }

    /// The plugin failed at `now`: returns the state the node is now in and
    /// the back-off (zero when bypassed).
    pub fn failed(&mut self, now: Instant) -> (NodeState, Duration) {
        if self.last_failure.is_some_and(|t| now.duration_since(t) >= BACKOFF_RESET) && self.retry_at.is_none() {
            self.backoff = BACKOFF_START;
        }
        self.last_failure = Some(now);
        match self.policy {
            OnFailure::Bypass => {
                self.bypassed = true;
                (NodeState::Bypassed, Duration::ZERO)
            }
            OnFailure::Restart => {
                let wait = self.backoff;
                self.retry_at = Some(now + wait);
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                (NodeState::BackingOff, wait)
            }
        }
    }

    /// The plugin served a grain: returns whether that ended a back-off.
    pub fn succeeded(&mut self) -> bool {
        self.retry_at.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_backs_off_doubling_to_a_cap_and_resets_after_a_quiet_spell() {
        let mut s = Supervisor::new(OnFailure::Restart);
        let t0 = Instant::now();
        assert_eq!(s.action(t0), Action::Call);
        assert_eq!(s.failed(t0), (NodeState::BackingOff, BACKOFF_START));
        assert_eq!(s.action(t0 + Duration::from_millis(50)), Action::Invalid);
        let t1 = t0 + BACKOFF_START;
        assert_eq!(s.action(t1), Action::Call);
        assert_eq!(s.failed(t1).1, BACKOFF_START * 2);
        let mut t = t1;
        for _ in 0..20 {
            t += BACKOFF_MAX;
            s.failed(t);
        }
        assert_eq!(s.failed(t + BACKOFF_MAX).1, BACKOFF_MAX);
        assert!(s.succeeded());
        assert!(!s.succeeded());
        // Quiet for longer than the reset period: back to the start.
        let later = t + BACKOFF_MAX + BACKOFF_RESET;
        assert_eq!(s.failed(later).1, BACKOFF_START);
    }

    #[test]
    fn bypass_passes_through_for_good() {
        let mut s = Supervisor::new(OnFailure::Bypass);
        let t0 = Instant::now();
        assert_eq!(s.failed(t0), (NodeState::Bypassed, Duration::ZERO));
        assert_eq!(s.action(t0 + Duration::from_secs(3600)), Action::PassThrough);
    }
}
