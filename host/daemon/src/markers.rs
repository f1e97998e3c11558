//! Timeline markers on a running channel (the python-hls-stream seed):
//! a time and a text, posted by an operator or made from the channel's
//! SCTE-35 splice points, listed in stream time (the date on the
//! stream's `EXT-X-PROGRAM-DATE-TIME` timeline) and in player time (the
//! position on each HLS output's timeline), and drawn on the dashboard
//! player's timeline. They live with the running channel, as its DVR
//! window does: stopping or deleting the channel drops them.

use crate::api::{Caller, Problem, Shared, json_body, now_ms};
use crate::auth::Role;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stagebox_io::output::HlsStream;
use stagebox_media::hls::iso8601;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// Markers kept per channel; the oldest go first.
pub const MAX_MARKERS: usize = 1000;

/// How far from now a posted marker may be: an hour either way.
const MAX_DISTANCE_MS: i64 = 3_600_000;

/// One marker.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    /// Its number in the channel, from 1.
    pub id: u64,
    /// What it says.
    pub text: String,
    /// `api` (posted) or `scte35` (a splice point).
    pub source: &'static str,
    /// Who posted it, or which output's SCTE-35 plugin made it.
    pub by: String,
    /// When, in ms since 1970 UTC: the stream's program date-time.
    pub at_ms: i64,
}

#[derive(Default)]
struct Channel {
    next: u64,
    markers: VecDeque<Marker>,
}

impl Channel {
    fn push(&mut self, text: String, source: &'static str, by: String, at_ms: i64) -> Marker {
        self.next += 1;
        let marker = Marker { id: self.next, text, source, by, at_ms };
        if self.markers.len() == MAX_MARKERS {
            self.markers.pop_front();
        }
        self.markers.push_back(marker.clone());
        marker
    }
}

/// The markers of every running channel.
#[derive(Default)]
pub struct Markers {
    channels: Mutex<BTreeMap<String, Channel>>,
}

impl Markers {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Channel>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a marker to `channel`; returns it with its id.
    pub fn add(&self, channel: &str, text: String, source: &'static str, by: String, at_ms: i64) -> Marker {
        self.lock().entry(channel.to_owned()).or_default().push(text, source, by, at_ms)
    }

    /// Adds a marker unless one of `source` with the same text is within a
    /// second of `at_ms` (the same cue, marked by another output's plugin).
    /// Returns the marker when it was added.
    pub fn add_once(
        &self,
        channel: &str,
        text: String,
        source: &'static str,
        by: String,
        at_ms: i64,
    ) -> Option<Marker> {
        let mut channels = self.lock();
        let c = channels.entry(channel.to_owned()).or_default();
        let seen = c
            .markers
            .iter()
            .rev()
            .take(64)
            .any(|m| m.source == source && m.text == text && (m.at_ms - at_ms).abs() < 1000);
        (!seen).then(|| c.push(text, source, by, at_ms))
    }

    /// The markers of `channel`, oldest first.
    pub fn list(&self, channel: &str) -> Vec<Marker> {
        self.lock().get(channel).map(|c| c.markers.iter().cloned().collect()).unwrap_or_default()
    }

    /// Drops the markers of `channel` (stopped or deleted).
    pub fn clear(&self, channel: &str) {
        self.lock().remove(channel);
    }
}

/// A marker as the event stream shows it (`channel.marker`).
pub fn event_json(m: &Marker) -> serde_json::Value {
    json!({ "id": m.id, "text": m.text, "source": m.source, "by": m.by, "at": iso8601(m.at_ms), "at_ms": m.at_ms })
}

/// A marker as the API lists it: as on the event stream, plus its
/// position on each of `streams` (the channel's HLS outputs; `null` where
/// that output's window no longer, or not yet, holds it).
fn marker_json(m: &Marker, streams: &[(String, Arc<HlsStream>)]) -> serde_json::Value {
    let player: serde_json::Map<String, serde_json::Value> =
        streams.iter().map(|(output, stream)| (output.clone(), json!(stream.player_time(m.at_ms)))).collect();
    let mut v = event_json(m);
    v["player_s"] = player.into();
    v
}

fn not_running(name: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no channel {name:?} runs"))
}

/// `GET /api/v1/channels/{name}/markers` (viewer): the running channel's
/// markers, oldest first.
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    if !state.distributor.is_running(&name) {
        return Err(not_running(&name));
    }
    let streams = state.distributor.hls_all(&name).unwrap_or_default();
    let markers: Vec<_> = state.distributor.markers().list(&name).iter().map(|m| marker_json(m, &streams)).collect();
    Ok(Json(json!({ "markers": markers })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMarker {
    text: String,
    /// ms since 1970 UTC; now when left out.
    at_ms: Option<i64>,
}

/// `POST /api/v1/channels/{name}/markers` (operator): `{"text": "Kick-off",
/// "at_ms": …}` marks the running channel's stream at `at_ms` (now when
/// left out).
pub async fn add(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Role::Operator)?;
    let NewMarker { text, at_ms } = json_body(&body)?;
    let invalid = |why: &str| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid marker", why.to_owned());
    let text = text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(invalid("text: 1 to 200 characters, no control characters"));
    }
    let now = now_ms() as i64;
    let at_ms = at_ms.unwrap_or(now);
    if (at_ms - now).abs() > MAX_DISTANCE_MS {
        return Err(invalid("at_ms: within an hour of now"));
    }
    if !state.distributor.is_running(&name) {
        return Err(not_running(&name));
    }
    let marker = state.distributor.markers().add(&name, text, "api", caller.user.clone(), at_ms);
    state.distributor.events().send_channel("channel.marker", &name, event_json(&marker));
    let streams = state.distributor.hls_all(&name).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(marker_json(&marker, &streams))))
}
