//! The `plugins` resource: upload a component with its manifest (and a
//! signature), list, get, delete, enable, disable.
//!
//! An upload is checked whole before anything is kept: the size (refused
//! from `Content-Length` before the body is read), the manifest, the
//! signature against the trusted keys, and the component itself, compiled
//! and linked against the world its manifest names. The store writes it
//! atomically. A new plugin starts disabled.

use crate::api::{Caller, Problem, Shared};
use crate::auth::Role;
use crate::catalog::Bundled;
use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use stagebox_plugins::{Manifest, Plugin, PluginStore, StoreError, StoredPlugin};

fn problem(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(status, title, detail)
}

fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::NotFound(hash) => problem(StatusCode::NOT_FOUND, "Not found", format!("no plugin {hash}")),
        StoreError::Manifest(e) => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, "Invalid manifest", format!("manifest: {e}"))
        }
        StoreError::Unsigned => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unsigned plugin",
            "signature: this box accepts only plugins signed by a trusted key",
        ),
        StoreError::BadSignature => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Bad signature",
            "signature: does not verify against any trusted key for this component and manifest",
        ),
        e => Problem::internal(format!("{e:#}")),
    }
}

fn record(p: &StoredPlugin, enabled: bool) -> serde_json::Value {
    manifest_record(&p.hash, &p.manifest, p.signed_by.as_deref(), enabled, false)
}

fn bundled_record(b: &Bundled) -> serde_json::Value {
    manifest_record(&b.hash, &b.manifest, None, true, true)
}

fn manifest_record(
    hash: &str,
    m: &Manifest,
    signed_by: Option<&str>,
    enabled: bool,
    bundled: bool,
) -> serde_json::Value {
    json!({
        "hash": hash,
        "name": m.name,
        "version": m.version,
        "world": m.world.name(),
        "description": m.description,
        "capabilities": m.capabilities.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "limits": { "memory_bytes": m.limits.memory_bytes, "deadline_fraction": m.limits.deadline_fraction },
        "signed_by": signed_by,
        "enabled": enabled,
        "bundled": bundled,
    })
}

fn bundled<'a>(state: &'a Shared, hash: &str) -> Option<&'a Bundled> {
    state.engine.catalog().bundled().iter().find(|b| b.hash == hash)
}

/// Refuses to change a bundled plugin.
fn not_bundled(state: &Shared, hash: &str) -> Result<(), Problem> {
    match bundled(state, hash) {
        Some(b) => Err(problem(
            StatusCode::CONFLICT,
            "Bundled plugin",
            format!("{} is part of the firmware: it cannot be deleted, enabled or disabled", b.manifest.name),
        )),
        None => Ok(()),
    }
}

fn store(state: &Shared) -> &PluginStore {
    &state.plugins
}

/// `GET /api/v1/plugins` (viewer).
pub async fn list(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let plugins = store(&state).list().map_err(store_problem)?;
    let mut out: Vec<_> = state.engine.catalog().bundled().iter().map(bundled_record).collect();
    for p in &plugins {
        out.push(record(p, state.store.plugin_enabled(&p.hash).map_err(Problem::internal)?));
    }
    Ok(Json(json!({ "plugins": out })))
}

/// `GET /api/v1/plugins/{hash}` (viewer).
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    if let Some(b) = bundled(&state, &hash) {
        return Ok(Json(bundled_record(b)));
    }
    let (_, p) = store(&state).get(&hash).map_err(store_problem)?;
    Ok(Json(record(&p, state.store.plugin_enabled(&hash).map_err(Problem::internal)?)))
}

/// `DELETE /api/v1/plugins/{hash}` (admin).
pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Admin)?;
    not_bundled(&state, &hash)?;
    store(&state).remove(&hash).map_err(store_problem)?;
    state.store.set_plugin_enabled(&hash, None).map_err(Problem::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    state: Shared,
    caller: Caller,
    hash: String,
    on: bool,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Admin)?;
    not_bundled(&state, &hash)?;
    let (_, p) = store(&state).get(&hash).map_err(store_problem)?;
    state.store.set_plugin_enabled(&hash, Some(on)).map_err(Problem::internal)?;
    Ok(Json(record(&p, on)))
}

/// `POST /api/v1/plugins/{hash}/enable` (admin).
pub async fn enable(
    State(state): State<Shared>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    set_enabled(state, caller, hash, true).await
}

/// `POST /api/v1/plugins/{hash}/disable` (admin).
pub async fn disable(
    State(state): State<Shared>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, Problem> {
    set_enabled(state, caller, hash, false).await
}

/// `POST /api/v1/plugins` (admin): multipart/form-data with the parts
/// `manifest` (TOML), `component` (the `.wasm`) and optionally `signature`
/// (128 hex digits: ed25519 over the component and manifest).
pub async fn upload(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    caller.require(Role::Admin)?;
    let limit = state.config.max_upload_bytes;
    let too_large = |n: u64| {
        problem(StatusCode::PAYLOAD_TOO_LARGE, "Upload too large", format!("{n} bytes; this box takes at most {limit}"))
    };
    // Refused before the body is read.
    if let Some(n) = crate::api::declared_length(&headers)
        && n > limit
    {
        return Err(too_large(n));
    }
    let mut multipart = multipart.map_err(|e| {
        problem(StatusCode::BAD_REQUEST, "Bad upload", format!("{}; send multipart/form-data", e.body_text()))
    })?;
    let (mut manifest, mut component, mut signature) = (None, None, None);
    let mut total = 0u64;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(total)),
            Err(e) => return Err(problem(StatusCode::BAD_REQUEST, "Bad upload", e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(total)
            } else {
                problem(StatusCode::BAD_REQUEST, "Bad upload", e.body_text())
            }
        })?;
        total += bytes.len() as u64;
        if total > limit {
            return Err(too_large(total));
        }
        let text = || {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| problem(StatusCode::BAD_REQUEST, "Bad upload", format!("{name}: not UTF-8 text")))
        };
        match name.as_str() {
            "manifest" => manifest = Some(text()?),
            "signature" => signature = Some(text()?),
            "component" => component = Some(bytes),
            other => {
                return Err(problem(
                    StatusCode::BAD_REQUEST,
                    "Bad upload",
                    format!("{other}: unknown part; send manifest, component and signature"),
                ));
            }
        }
    }
    let manifest = manifest.ok_or_else(|| problem(StatusCode::BAD_REQUEST, "Bad upload", "manifest: missing"))?;
    let component = component.ok_or_else(|| problem(StatusCode::BAD_REQUEST, "Bad upload", "component: missing"))?;
    let signature = match signature {
        None => None,
        Some(hex) => Some(parse_signature(hex.trim()).ok_or_else(|| {
            problem(StatusCode::BAD_REQUEST, "Bad upload", "signature: 128 hex digits (an ed25519 signature)")
        })?),
    };
    // The component must be one: compiled and linked against its world.
    let parsed = Manifest::from_toml(&manifest).map_err(|e| store_problem(StoreError::Manifest(e)))?;
    let grants = parsed.capabilities.clone();
    let (runtime, wasm) = (state.runtime.clone(), component.clone());
    tokio::task::spawn_blocking(move || Plugin::load(&runtime, &wasm, parsed, &grants))
        .await
        .map_err(Problem::internal)?
        .map_err(|e| problem(StatusCode::UNPROCESSABLE_ENTITY, "Invalid component", format!("component: {e:#}")))?;
    let stored = store(&state).add(&component, &manifest, signature.as_ref()).map_err(store_problem)?;
    let enabled = state.store.plugin_enabled(&stored.hash).map_err(Problem::internal)?;
    Ok((StatusCode::CREATED, Json(record(&stored, enabled))).into_response())
}

fn parse_signature(hex: &str) -> Option<[u8; 64]> {
    if hex.len() != 128 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..128).step_by(2).filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
    bytes.try_into().ok()
}
