//! The `users` and `tokens` resources.

use crate::api::{Caller, Problem, Shared, json_body, now_ms};
use crate::auth::{self, Role};
use crate::store::{Deleted, Token, User};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Shortest password accepted.
const MIN_PASSWORD: usize = 12;
/// Longest lifetime of an API token: a year.
const MAX_TOKEN_HOURS: u64 = 24 * 366;

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "Invalid request", detail)
}

fn check_name(name: &str) -> Result<(), Problem> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(bad("name: 1 to 64 of a-z, 0-9, '.', '_', '-'")) }
}

fn check_password(password: &str) -> Result<(), Problem> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(bad(format!("password: at least {MIN_PASSWORD} characters")));
    }
    Ok(())
}

/// `GET /api/v1/users` (admin).
pub async fn list_users(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Admin)?;
    let users = state.store.users().map_err(Problem::internal)?;
    let users: Vec<_> = users
        .into_iter()
        .map(|(name, u)| json!({ "name": name, "role": u.role, "created_ms": u.created_ms }))
        .collect();
    Ok(Json(json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    password: String,
    role: Role,
}

/// `POST /api/v1/users` (admin).
pub async fn create_user(State(state): State<Shared>, caller: Caller, body: Bytes) -> Result<Response, Problem> {
    caller.require(Role::Admin)?;
    let new: NewUser = json_body(&body)?;
    check_name(&new.name)?;
    check_password(&new.password)?;
    let hash = auth::hash_password(&new.password).map_err(Problem::internal)?;
    let user = User { role: new.role, password_hash: hash, created_ms: now_ms() };
    if !state.store.create_user(&new.name, &user).map_err(Problem::internal)? {
        return Err(Problem::new(StatusCode::CONFLICT, "Conflict", format!("name: user {:?} exists", new.name)));
    }
    Ok((StatusCode::CREATED, Json(json!({ "name": new.name, "role": new.role }))).into_response())
}

/// `DELETE /api/v1/users/{name}` (admin). Their tokens go too.
pub async fn delete_user(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Admin)?;
    match state.store.delete_user(&name).map_err(Problem::internal)? {
        Deleted::Done => Ok(StatusCode::NO_CONTENT),
        Deleted::Missing => Err(Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no user {name:?}"))),
        Deleted::LastAdmin => Err(Problem::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!("{name:?} is the last admin; make another first"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// `PUT /api/v1/users/{name}/password` (admin, or the user themself).
pub async fn set_password(
    State(state): State<Shared>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    if caller.user != name {
        caller.require(Role::Admin)?;
    }
    let NewPassword { password } = json_body(&body)?;
    check_password(&password)?;
    let Some(mut user) = state.store.user(&name).map_err(Problem::internal)? else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no user {name:?}")));
    };
    user.password_hash = auth::hash_password(&password).map_err(Problem::internal)?;
    state.store.put_user(&name, &user).map_err(Problem::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A token's public id: the first 16 hex digits of its hash.
fn token_id(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

fn token_json(hash: &str, t: &Token) -> serde_json::Value {
    json!({ "id": token_id(hash), "user": t.user, "label": t.label, "created_ms": t.created_ms, "expires_ms": t.expires_ms })
}

/// `GET /api/v1/tokens`: the caller's tokens (an admin's: everyone's).
pub async fn list_tokens(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    let tokens = state.store.tokens().map_err(Problem::internal)?;
    let tokens: Vec<_> = tokens
        .iter()
        .filter(|(_, t)| caller.role == Role::Admin || t.user == caller.user)
        .map(|(h, t)| token_json(h, t))
        .collect();
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
    #[serde(default = "default_hours")]
    expires_hours: u64,
}

fn default_hours() -> u64 {
    24 * 90
}

/// `POST /api/v1/tokens`: an API token for the caller, shown once.
pub async fn create_token(State(state): State<Shared>, caller: Caller, body: Bytes) -> Result<Response, Problem> {
    caller.require(Role::Viewer)?;
    let new: NewToken = json_body(&body)?;
    if new.label.is_empty() || new.label.len() > 128 {
        return Err(bad("label: 1 to 128 bytes"));
    }
    if !(1..=MAX_TOKEN_HOURS).contains(&new.expires_hours) {
        return Err(bad(format!("expires_hours: 1 to {MAX_TOKEN_HOURS}")));
    }
    let secret = auth::new_secret("sbx_", 32);
    let hash = auth::token_hash(&secret);
    let now = now_ms();
    let token =
        Token { user: caller.user, label: new.label, created_ms: now, expires_ms: now + new.expires_hours * 3_600_000 };
    state.store.put_token(&hash, &token).map_err(Problem::internal)?;
    let mut body = token_json(&hash, &token);
    body["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `DELETE /api/v1/tokens/{id}`: the caller's own, or any for an admin.
pub async fn delete_token(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(Role::Viewer)?;
    let tokens = state.store.tokens().map_err(Problem::internal)?;
    let found = tokens.iter().find(|(h, t)| token_id(h) == id && (caller.role == Role::Admin || t.user == caller.user));
    match found {
        Some((hash, _)) => {
            state.store.delete_token(hash).map_err(Problem::internal)?;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no token {id:?} of yours"))),
    }
}
