//! The `flows` resource: every flow in the daemon's domain (its own and
//! other processes'), with live statistics read from shared memory.

use crate::api::{Caller, Problem, Shared};
use crate::auth::Role;
use crate::thumbnail;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stagebox_flow::{FlowFormat, SystemClock, UNDEFINED_INDEX, current_index};
use std::sync::atomic::Ordering::Relaxed;

fn format_json(format: &FlowFormat) -> serde_json::Value {
    let rate = |r: stagebox_flow::Rational| format!("{}/{}", r.numerator(), r.denominator());
    match format {
        FlowFormat::Video(v) => json!({
            "kind": "video",
            "coding": format!("{:?}", v.coding).to_lowercase(),
            "width": v.width,
            "height": v.height,
            "rate": rate(v.rate),
        }),
        FlowFormat::Audio(a) => json!({
            "kind": "audio",
            "channels": a.channels,
            "sample_rate": rate(a.sample_rate),
        }),
        FlowFormat::Data(d) => json!({
            "kind": "data",
            "data": format!("{:?}", d.kind).to_lowercase(),
            "rate": rate(d.rate),
        }),
        FlowFormat::Mux(m) => json!({
            "kind": "mux",
            "mux": format!("{:?}", m.kind).to_lowercase(),
            "rate": rate(m.rate),
        }),
    }
}

/// `GET /api/v1/flows/{id}/thumbnail` (viewer): a JPEG of a video flow's
/// latest grain, at most 320 pixels wide.
pub async fn thumbnail(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    caller.require(Role::Viewer)?;
    let not_found = || Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no flow {id}"));
    let uuid = uuid::Uuid::parse_str(&id).map_err(|_| not_found())?;
    let s = state.clone();
    let jpeg = tokio::task::spawn_blocking(move || -> Result<Option<Vec<u8>>, Problem> {
        let Ok(reader) = s.engine.domain().open_discrete(uuid) else { return Ok(None) };
        let FlowFormat::Video(format) = reader.descriptor().format().clone() else {
            return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Not video", "id: this flow is not video"));
        };
        let grain = reader
            .latest()
            .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "No grain", format!("id: {e}")))?;
        let mut frame = Vec::new();
        grain
            .copy_into(&mut frame)
            .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "No grain", format!("id: {e}")))?;
        thumbnail::jpeg(&format, &frame)
            .map(Some)
            .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "No thumbnail", format!("id: {e}")))
    })
    .await
    .map_err(Problem::internal)??;
    let jpeg = jpeg.ok_or_else(not_found)?;
    let mut response = jpeg.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /api/v1/flows` (viewer).
pub async fn list(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let s = state.clone();
    let flows = tokio::task::spawn_blocking(move || flows(&s)).await.map_err(Problem::internal)??;
    Ok(Json(json!({ "domain": state.engine.domain().root(), "flows": flows })))
}

fn flows(state: &Shared) -> Result<Vec<serde_json::Value>, Problem> {
    let domain = state.engine.domain();
    let list = domain.flows().map_err(|e| Problem::internal(format!("listing flows: {e}")))?;
    let clock = SystemClock;
    let mut out = Vec::new();
    for entry in list.flows {
        let d = &entry.descriptor;
        let rate = d.grain_rate();
        // Live statistics from the ring (discrete flows; audio rings are
        // read by sample and report no head here).
        let head = if d.is_continuous() {
            None
        } else {
            domain.open_discrete(d.id()).ok().map(|r| r.head_index()).filter(|h| *h != UNDEFINED_INDEX)
        };
        let now = current_index(&clock, rate);
        let ours = state.engine.writer_of(d.id());
        out.push(json!({
            "id": d.id(),
            "label": d.label(),
            "format": format_json(d.format()),
            "writer_active": entry.writer_active,
            "head_index": head,
            // How many grains the newest one is behind the grain clock.
            "grains_behind": head.map(|h| now.saturating_sub(h)),
            "pipeline": ours.as_ref().map(|o| o.0.clone()),
            "node": ours.as_ref().map(|o| o.1.clone()),
            "grains_written": ours.as_ref().map(|o| o.2.grains_out.load(Relaxed)),
            // Drops: grains written marked invalid (the writer's plugin was
            // down) and grains the daemon's readers lost.
            "grains_invalid": ours.as_ref().map(|o| o.2.invalid_out.load(Relaxed)),
            "missed_by_readers": state.engine.missed_by_readers(d.id()),
        }));
    }
    Ok(out)
}
