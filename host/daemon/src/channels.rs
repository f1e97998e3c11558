//! The `channels` resource: distributor channels (docs/distributor.md),
//! created with a name, one or two input URLs and outputs; started,
//! stopped and kept across restarts; outputs added and removed while they
//! run; the input selected by an operator. Reading needs a viewer;
//! changing needs an operator.
//!
//! A channel is checked whole before anything is kept: the JSON shape
//! (400, naming the field), then URLs, timings and plugins (422, naming the
//! field).

use crate::api::{Caller, Problem, Shared, json_body, now_ms};
use crate::auth::Role;
use crate::channel::spec::{ChannelSpec, FieldError, OutputSpec};
use crate::channel::{Checked, CheckedOutput};
use crate::store::ChannelRecord;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use stagebox_io::IoError;
use stagebox_io::failover::Source;

fn not_found(name: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no channel {name:?}"))
}

fn invalid(e: FieldError) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid channel", e.to_string())
}

/// The whole chain of an I/O error, for the answer and the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn io_problem(e: IoError) -> Problem {
    let detail = chain(&e);
    match e {
        IoError::Stopped => Problem::new(StatusCode::CONFLICT, "Not running", "the channel is not running"),
        IoError::Config(_) => Problem::new(StatusCode::CONFLICT, "Conflict", detail),
        _ => {
            tracing::warn!("channel: {detail}");
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Cannot start", detail)
        }
    }
}

fn record_json(state: &Shared, name: &str, r: &ChannelRecord) -> serde_json::Value {
    let status = state.distributor.status(name);
    json!({
        "name": name,
        "description": r.spec.description,
        "running": status.is_some(),
        "autostart": r.running,
        "spec": r.spec,
        "status": status,
        "created_ms": r.created_ms,
        "updated_ms": r.updated_ms,
    })
}

fn stored(state: &Shared, name: &str) -> Result<ChannelRecord, Problem> {
    state.store.channel(name).map_err(Problem::internal)?.ok_or_else(|| not_found(name))
}

/// Checks `spec` whole, off the async workers (it may compile a plugin).
async fn check(state: &Shared, spec: ChannelSpec) -> Result<Checked, Problem> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        s.distributor.check(s.engine.catalog(), spec, |hash| s.store.plugin_enabled(hash).unwrap_or(false))
    })
    .await
    .map_err(Problem::internal)?
    .map_err(invalid)
}

/// Checks one output of channel `channel`, off the async workers.
async fn check_output(state: &Shared, channel: &str, output: OutputSpec) -> Result<CheckedOutput, Problem> {
    let (s, channel) = (state.clone(), channel.to_owned());
    tokio::task::spawn_blocking(move || {
        s.distributor
            .check_output(s.engine.catalog(), &channel, &output, |hash| s.store.plugin_enabled(hash).unwrap_or(false))
    })
    .await
    .map_err(Problem::internal)?
    .map_err(|e| invalid(FieldError { field: format!("output.{}", e.field), why: e.why }))
}

/// `GET /api/v1/channels` (viewer).
pub async fn list(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let all = state.store.channels().map_err(Problem::internal)?;
    let out: Vec<_> = all.iter().map(|(name, r)| record_json(&state, name, r)).collect();
    Ok(Json(json!({ "channels": out })))
}

/// `GET /api/v1/channels/{name}` (viewer).
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let r = stored(&state, &name)?;
    Ok(Json(record_json(&state, &name, &r)))
}

/// `POST /api/v1/channels` (operator): makes a stopped channel.
pub async fn create(
    State(state): State<Shared>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Role::Operator)?;
    let spec: ChannelSpec = json_body(&body)?;
    let _changing = state.channels_changing.lock().await;
    let checked = check(&state, spec).await?;
    let name = checked.spec.name.clone();
    if state.store.channel(&name).map_err(Problem::internal)?.is_some() {
        return Err(Problem::new(StatusCode::CONFLICT, "Conflict", format!("name: channel {name:?} exists")));
    }
    let now = now_ms();
    let record = ChannelRecord { spec: checked.spec, running: false, created_ms: now, updated_ms: now };
    state.store.put_channel(&name, &record).map_err(Problem::internal)?;
    Ok((StatusCode::CREATED, Json(record_json(&state, &name, &record))))
}

/// `PUT /api/v1/channels/{name}` (operator): replaces the channel. A
/// running channel whose inputs and timings are unchanged changes live:
/// only the outputs that changed are removed and added; otherwise it
/// restarts.
pub async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Operator)?;
    let mut spec: ChannelSpec = json_body(&body)?;
    if spec.name.is_empty() {
        spec.name.clone_from(&name);
    } else if spec.name != name {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad request body",
            format!("name: {:?} is not the channel in the URL ({name:?}); a channel cannot be renamed", spec.name),
        ));
    }
    let _changing = state.channels_changing.lock().await;
    let mut record = stored(&state, &name)?;
    let checked = check(&state, spec.clone()).await?;
    let old = std::mem::replace(&mut record.spec, spec);
    record.updated_ms = now_ms();
    state.store.put_channel(&name, &record).map_err(Problem::internal)?;
    if state.distributor.is_running(&name) {
        // Only outputs changed: they change live; anything else restarts.
        let same_inputs = old.inputs == record.spec.inputs
            && old.merge == record.spec.merge
            && old.failover == record.spec.failover
            && old.batch_ms == record.spec.batch_ms;
        if same_inputs {
            for output in old.outputs.iter().filter(|o| !record.spec.outputs.contains(o)) {
                state.distributor.remove_output(&name, &output.id).await.map_err(io_problem)?;
            }
            for output in record.spec.outputs.iter().filter(|o| !old.outputs.contains(o)) {
                let made = check_output(&state, &name, output.clone()).await?;
                state.distributor.add_output(&name, made).await.map_err(io_problem)?;
            }
        } else {
            state.distributor.start(checked).await.map_err(io_problem)?;
        }
    }
    Ok(Json(record_json(&state, &name, &record)))
}

/// `DELETE /api/v1/channels/{name}` (operator): stops and deletes.
pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Operator)?;
    let _changing = state.channels_changing.lock().await;
    stored(&state, &name)?;
    state.distributor.stop(&name);
    state.store.delete_channel(&name).map_err(Problem::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/channels/{name}/start` (operator). Starting a running
/// channel changes nothing.
pub async fn start(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    switch(state, caller, name, true).await
}

/// `POST /api/v1/channels/{name}/stop` (operator).
pub async fn stop(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    switch(state, caller, name, false).await
}

async fn switch(state: Shared, caller: Caller, name: String, on: bool) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Operator)?;
    let _changing = state.channels_changing.lock().await;
    let mut record = stored(&state, &name)?;
    if !on {
        state.distributor.stop(&name);
    } else if !state.distributor.is_running(&name) {
        let checked = check(&state, record.spec.clone()).await?;
        state.distributor.start(checked).await.map_err(io_problem)?;
    }
    if record.running != on {
        record.running = on;
        state.store.put_channel(&name, &record).map_err(Problem::internal)?;
    }
    Ok(Json(record_json(&state, &name, &record)))
}

/// The body of `select`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// `primary` or `backup`.
    input: Source,
}

/// `POST /api/v1/channels/{name}/select` (operator): `{"input":
/// "primary"}` returns to the primary now; `"backup"` switches to the
/// backup and holds it until it fails.
pub async fn select(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Operator)?;
    let Select { input } = json_body(&body)?;
    let record = stored(&state, &name)?;
    if input == Source::Backup && record.spec.inputs.len() < 2 {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            "input: the channel has no backup",
        ));
    }
    if record.spec.merge {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            "input: a merged (ST 2022-7) channel uses both inputs at once",
        ));
    }
    state.distributor.select(&name, input).await.map_err(io_problem)?;
    Ok(Json(record_json(&state, &name, &record)))
}

/// `POST /api/v1/channels/{name}/outputs` (operator): adds an output, live
/// if the channel runs.
pub async fn add_output(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Role::Operator)?;
    let output: OutputSpec = json_body(&body)?;
    let _changing = state.channels_changing.lock().await;
    let mut record = stored(&state, &name)?;
    if record.spec.outputs.iter().any(|o| o.id == output.id) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("id: channel {name:?} already has an output {:?}", output.id),
        ));
    }
    let made = check_output(&state, &name, output.clone()).await?;
    if state.distributor.is_running(&name) {
        state.distributor.add_output(&name, made).await.map_err(io_problem)?;
    }
    record.spec.outputs.push(output);
    record.updated_ms = now_ms();
    state.store.put_channel(&name, &record).map_err(Problem::internal)?;
    Ok((StatusCode::CREATED, Json(record_json(&state, &name, &record))))
}

/// `DELETE /api/v1/channels/{name}/outputs/{id}` (operator): removes an
/// output, live if the channel runs.
pub async fn remove_output(
    State(state): State<Shared>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Operator)?;
    let _changing = state.channels_changing.lock().await;
    let mut record = stored(&state, &name)?;
    let before = record.spec.outputs.len();
    record.spec.outputs.retain(|o| o.id != id);
    if record.spec.outputs.len() == before {
        return Err(Problem::new(StatusCode::NOT_FOUND, "Not found", format!("channel {name:?} has no output {id:?}")));
    }
    if state.distributor.is_running(&name) {
        state.distributor.remove_output(&name, &id).await.map_err(io_problem)?;
    }
    record.updated_ms = now_ms();
    state.store.put_channel(&name, &record).map_err(Problem::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the channels stored as running (at daemon start). One that no
/// longer checks or cannot bind is logged and left stopped; the others
/// start.
pub async fn resume(state: &Shared) -> anyhow::Result<()> {
    for (name, record) in state.store.channels()? {
        if !record.running {
            continue;
        }
        let started = match check(state, record.spec).await {
            Ok(checked) => state.distributor.start(checked).await.map_err(|e| chain(&e)),
            Err(_) => Err("it no longer checks (see GET /api/v1/channels)".to_owned()),
        };
        if let Err(e) = started {
            tracing::error!("channel {name} could not start: {e}");
            state.engine.events().send_channel("channel.stopped", &name, json!({ "error": e }));
        }
    }
    Ok(())
}
