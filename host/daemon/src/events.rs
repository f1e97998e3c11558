//! Live status: what pipelines and their nodes do, as it happens, for
//! `GET /api/v1/events` (server-sent events).
//!
//! Events go to every listener through a bounded broadcast channel. A
//! listener that falls behind by more than [`CAPACITY`] events is told how
//! many it lost (a `lagged` event) rather than slowing the daemon.

use crate::api::{Caller, Problem, Shared, now_ms};
use crate::auth::Role;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast;

/// Events a listener may fall behind by before it loses some.
pub const CAPACITY: usize = 1024;

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Its number, from 1, in the order events were sent.
    pub seq: u64,
    /// When, Unix ms.
    pub at_ms: u64,
    /// What: `pipeline.started`, `pipeline.stopped`, `pipeline.updated`,
    /// `node.failed`, `node.restarted`, `node.bypassed`, `scte35.decision`,
    /// `scte35.failed`, `channel.started`, `channel.stopped`,
    /// `channel.status`, `channel.switched`, `channel.output_added`,
    /// `channel.output_removed`.
    pub kind: &'static str,
    /// The pipeline, for pipeline and node events.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pipeline: String,
    /// The channel, for channel events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The node, for node events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The details of this kind of event.
    pub data: serde_json::Value,
}

/// The daemon's event stream. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    seq: Arc<AtomicU64>,
}

impl Default for Events {
    fn default() -> Self {
        Events { tx: broadcast::channel(CAPACITY).0, seq: Arc::default() }
    }
}

impl Events {
    /// Sends an event to every listener (none listening is fine).
    pub fn send(&self, kind: &'static str, pipeline: &str, node: Option<&str>, data: serde_json::Value) {
        self.publish(kind, pipeline.to_owned(), None, node.map(str::to_owned), data);
    }

    /// Sends an event about distributor channel `channel`.
    pub fn send_channel(&self, kind: &'static str, channel: &str, data: serde_json::Value) {
        self.publish(kind, String::new(), Some(channel.to_owned()), None, data);
    }

    fn publish(
        &self,
        kind: &'static str,
        pipeline: String,
        channel: Option<String>,
        node: Option<String>,
        data: serde_json::Value,
    ) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.tx.send(Event { seq, at_ms: now_ms(), kind, pipeline, channel, node, data });
    }

    /// A new listener, which sees events sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

/// `GET /api/v1/events` (viewer): `text/event-stream`, one `data:` line of
/// JSON per event with the event's kind as the SSE event name.
pub async fn stream(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>>, Problem> {
    caller.require(Role::Viewer)?;
    let rx = state.engine.events().subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(e) => SseEvent::default().event(e.kind).id(e.seq.to_string()).json_data(&e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").json_data(serde_json::json!({ "lost": n }))
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        // json_data fails only for values that do not serialise; ours do.
        Some((Ok(event.unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
