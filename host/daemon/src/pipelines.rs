//! The `pipelines` resource: create, read, update, delete, start and stop
//! JSON graphs of nodes. Reading needs a viewer; changing needs an
//! operator.
//!
//! A pipeline is checked whole before anything is kept: the JSON shape
//! (400, naming the field), then the graph, the plugins and their
//! configurations (422, naming the field). Updating a running pipeline
//! changes it live: only the nodes that changed, and those downstream of
//! them, restart.

use crate::api::{Caller, Problem, Shared, json_body, now_ms};
use crate::auth::Role;
use crate::pipeline::spec::{PipelineSpec, SpecError};
use crate::pipeline::{Checked, StartError};
use crate::store::PipelineRecord;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

fn not_found(name: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no pipeline {name:?}"))
}

fn invalid(e: SpecError) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid pipeline", e.to_string())
}

fn start_problem(e: StartError) -> Problem {
    match e {
        StartError::Spec(e) => invalid(e),
        // Most often the domain's quota: say so rather than "internal".
        e @ StartError::Flow { .. } => {
            tracing::error!("starting a pipeline: {e}");
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Cannot start", format!("nodes: {e}"))
        }
    }
}

fn record_json(state: &Shared, name: &str, r: &PipelineRecord) -> serde_json::Value {
    let status = state.engine.status(name);
    json!({
        "name": name,
        "description": r.spec.description,
        "running": status.is_some(),
        "autostart": r.running,
        "spec": r.spec,
        "nodes": status,
        "created_ms": r.created_ms,
        "updated_ms": r.updated_ms,
    })
}

/// Checks `spec` whole, off the async workers (it compiles plugins).
async fn check(state: &Shared, spec: PipelineSpec) -> Result<Checked, Problem> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.engine.check(spec, |hash| s.store.plugin_enabled(hash).unwrap_or(false)))
        .await
        .map_err(Problem::internal)?
        .map_err(invalid)
}

/// Runs (or changes the running) pipeline, off the async workers.
async fn run(state: &Shared, checked: Checked) -> Result<(), Problem> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.engine.run(checked)).await.map_err(Problem::internal)?.map_err(start_problem)
}

/// Stops the running pipeline `name`, if it runs, off the async workers
/// (it joins the node threads).
async fn stop_running(state: &Shared, name: &str) -> Result<(), Problem> {
    let (s, n) = (state.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || s.engine.stop(&n)).await.map_err(Problem::internal)?;
    Ok(())
}

fn stored(state: &Shared, name: &str) -> Result<PipelineRecord, Problem> {
    state.store.pipeline(name).map_err(Problem::internal)?.ok_or_else(|| not_found(name))
}

/// `GET /api/v1/pipelines` (viewer).
pub async fn list(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let all = state.store.pipelines().map_err(Problem::internal)?;
    let out: Vec<_> = all.iter().map(|(name, r)| record_json(&state, name, r)).collect();
    Ok(Json(json!({ "pipelines": out })))
}

/// `GET /api/v1/pipelines/{name}` (viewer).
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let r = stored(&state, &name)?;
    Ok(Json(record_json(&state, &name, &r)))
}

/// `POST /api/v1/pipelines` (operator): makes a stopped pipeline.
pub async fn create(
    State(state): State<Shared>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    caller.require(Role::Operator)?;
    let spec: PipelineSpec = json_body(&body)?;
    let _changing = state.pipelines_changing.lock().await;
    let checked = check(&state, spec).await?;
    let name = checked.spec().name.clone();
    if state.store.pipeline(&name).map_err(Problem::internal)?.is_some() {
        return Err(Problem::new(StatusCode::CONFLICT, "Conflict", format!("name: pipeline {name:?} exists")));
    }
    let now = now_ms();
    let record = PipelineRecord { spec: checked.spec().clone(), running: false, created_ms: now, updated_ms: now };
    state.store.put_pipeline(&name, &record).map_err(Problem::internal)?;
    Ok((StatusCode::CREATED, Json(record_json(&state, &name, &record))))
}

/// `PUT /api/v1/pipelines/{name}` (operator): replaces the graph; a
/// running pipeline changes live.
pub async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Operator)?;
    let mut spec: PipelineSpec = json_body(&body)?;
    if spec.name.is_empty() {
        spec.name.clone_from(&name);
    } else if spec.name != name {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad request body",
            format!("name: {:?} is not the pipeline in the URL ({name:?}); a pipeline cannot be renamed", spec.name),
        ));
    }
    let _changing = state.pipelines_changing.lock().await;
    let mut record = stored(&state, &name)?;
    let checked = check(&state, spec).await?;
    record.spec = checked.spec().clone();
    record.updated_ms = now_ms();
    // Stored first: a daemon killed during the change starts the new graph.
    state.store.put_pipeline(&name, &record).map_err(Problem::internal)?;
    if state.engine.is_running(&name) {
        run(&state, checked).await?;
    }
    Ok(Json(record_json(&state, &name, &record)))
}

/// `DELETE /api/v1/pipelines/{name}` (operator): stops and deletes.
pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Operator)?;
    let _changing = state.pipelines_changing.lock().await;
    stored(&state, &name)?;
    stop_running(&state, &name).await?;
    state.store.delete_pipeline(&name).map_err(Problem::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/pipelines/{name}/start` (operator). Starting a running
/// pipeline changes nothing.
pub async fn start(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    switch(state, caller, name, true).await
}

/// `POST /api/v1/pipelines/{name}/stop` (operator).
pub async fn stop(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    switch(state, caller, name, false).await
}

/// Starts or stops pipeline `name`, and keeps whether it should run.
async fn switch(state: Shared, caller: Caller, name: String, on: bool) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Operator)?;
    let _changing = state.pipelines_changing.lock().await;
    let mut record = stored(&state, &name)?;
    if !on {
        stop_running(&state, &name).await?;
    } else if !state.engine.is_running(&name) {
        let checked = check(&state, record.spec.clone()).await?;
        run(&state, checked).await?;
    }
    if record.running != on {
        record.running = on;
        state.store.put_pipeline(&name, &record).map_err(Problem::internal)?;
    }
    Ok(Json(record_json(&state, &name, &record)))
}

/// Starts the pipelines stored as running (at daemon start). A pipeline
/// that no longer checks (its plugin was deleted, say) is logged and left
/// stopped; the others start.
pub fn resume(state: &Shared) -> anyhow::Result<()> {
    for (name, record) in state.store.pipelines()? {
        if !record.running {
            continue;
        }
        let result = state
            .engine
            .check(record.spec, |hash| state.store.plugin_enabled(hash).unwrap_or(false))
            .map_err(StartError::from)
            .and_then(|checked| state.engine.run(checked));
        match result {
            Ok(()) => tracing::info!("pipeline {name} started"),
            Err(e) => {
                tracing::error!("pipeline {name} could not start: {e:#}");
                state.engine.events().send("pipeline.stopped", &name, None, json!({ "error": e.to_string() }));
            }
        }
    }
    Ok(())
}

/// The pipelines a fresh box runs: the timecode demo (test pattern, then
/// the bundled timecode burn-in, into a flow `flow-read` can read as
/// `demo-timecode/timecode`) and the SCTE-35 demo (sections, then the
/// bundled policy, decisions on the event stream).
pub fn demo_specs() -> Vec<PipelineSpec> {
    let timecode = json!({
        "name": "demo-timecode",
        "description": "Colour bars with the time of day burnt in by the bundled timecode plugin",
        "nodes": [
            { "id": "pattern", "type": "test_pattern", "width": 1280, "height": 720, "rate": "25/1" },
            { "id": "timecode", "type": "video_plugin", "plugin": "timecode", "on_failure": "restart" },
        ],
        "connections": [{ "from": "pattern", "to": "timecode" }],
    });
    let scte35 = json!({
        "name": "demo-scte35",
        "description": "SCTE-35 cues every 2 s through the bundled policy; decisions on /api/v1/events",
        "nodes": [
            {
                "id": "cues",
                "type": "scte35_source",
                "interval_ms": 2000,
                // SCTE 35 2023 §14.2 (splice_insert, out of network) and
                // §14.1 (time_signal, placement opportunity start).
                "sections": [
                    "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=",
                    "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==",
                ],
            },
            { "id": "policy", "type": "scte35_policy", "plugin": "scte35", "config": { "hls": ["daterange"] } },
        ],
        "connections": [{ "from": "cues", "to": "policy" }],
    });
    [timecode, scte35].into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect()
}

/// On the first start with demo pipelines on, stores them as running.
pub fn seed_demo(state: &Shared) -> anyhow::Result<()> {
    if !state.config.demo_pipelines || state.store.set_flag("demo_seeded")? {
        return Ok(());
    }
    let now = now_ms();
    for spec in demo_specs() {
        let name = spec.name.clone();
        if state.store.pipeline(&name)?.is_none() {
            let record = PipelineRecord { spec, running: true, created_ms: now, updated_ms: now };
            state.store.put_pipeline(&name, &record)?;
        }
    }
    Ok(())
}
