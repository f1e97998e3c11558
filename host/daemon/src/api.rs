//! The HTTPS management API (`/api/v1`), its authentication and its audit
//! log. Errors are `application/problem+json` (RFC 9457).

use crate::auth::{self, LoginLimiter, Role};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::events::Events;
use crate::metrics::{self, Counters};
use crate::pipeline::Engine;
use crate::store::{AuditRecord, Store, Token};
use crate::{accounts, channels, events, flows, pipelines, plugins};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What every handler shares.
pub struct AppState {
    /// The state store.
    pub store: Arc<Store>,
    /// The configuration.
    pub config: Config,
    /// When the daemon started.
    pub started: Instant,
    /// Failed logins.
    pub limiter: Mutex<LoginLimiter>,
    /// What `/metrics` reports.
    pub counters: Counters,
    /// Uploaded plugins.
    pub plugins: Arc<stagebox_plugins::PluginStore>,
    /// The wasmtime runtime that checks and runs plugins.
    pub runtime: Arc<stagebox_plugins::Runtime>,
    /// The live pipelines.
    pub engine: Engine,
    /// Held while a pipeline is changed, so the store and the running
    /// pipelines change in the same order.
    pub pipelines_changing: tokio::sync::Mutex<()>,
    /// The certificate the HTTPS server presents.
    pub certificates: Arc<crate::tls::Certificates>,
    /// The running distributor channels.
    pub distributor: crate::channel::Distributor,
    /// Held while a channel is changed, so the store and the running
    /// channels change in the same order.
    pub channels_changing: tokio::sync::Mutex<()>,
    /// Held while an update bundle is received and installed: one at a time.
    pub update_installing: tokio::sync::Mutex<()>,
}

impl AppState {
    /// The state of a daemon starting now, with its plugin store under the
    /// state folder, the trusted keys from `STATE/trusted-keys/*.pub`, the
    /// bundled plugins and the flow domain the configuration names.
    pub fn new(store: Store, config: Config, certificates: Arc<crate::tls::Certificates>) -> anyhow::Result<AppState> {
        let trust = stagebox_plugins::TrustPolicy::from_dir(
            &config.state_dir.join("trusted-keys"),
            config.allow_unsigned_plugins,
        )?;
        let plugins = Arc::new(stagebox_plugins::PluginStore::open(&config.state_dir.join("plugins"), trust)?);
        let runtime = Arc::new(stagebox_plugins::Runtime::new().map_err(|e| anyhow::anyhow!("plugin runtime: {e:#}"))?);
        let store = Arc::new(store);
        let options = stagebox_flow::DomainOptions {
            quota_bytes: Some(config.flow_quota_mib.saturating_mul(1 << 20)),
            ..stagebox_flow::DomainOptions::default()
        };
        let domain = stagebox_flow::Domain::with_options(&config.flow_domain, options)
            .map_err(|e| anyhow::anyhow!("flow domain {}: {e}", config.flow_domain.display()))?;
        let catalog = Catalog::new(&config.bundled_plugins, runtime.clone(), plugins.clone());
        let events = Events::default();
        let engine = Engine::new(domain, catalog, store.clone(), events.clone());
        Ok(AppState {
            store,
            config,
            started: Instant::now(),
            limiter: Mutex::new(LoginLimiter::default()),
            counters: Counters::default(),
            plugins,
            runtime,
            engine,
            pipelines_changing: tokio::sync::Mutex::new(()),
            certificates,
            distributor: crate::channel::Distributor::new(events),
            channels_changing: tokio::sync::Mutex::new(()),
            update_installing: tokio::sync::Mutex::new(()),
        })
    }
}

/// The shared state handlers get.
pub type Shared = Arc<AppState>;

/// The body's size as the request declares it (`Content-Length`), so an
/// upload over a limit is refused before it is read.
pub(crate) fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Unix time in ms.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// An error answer: `application/problem+json` with a title and a detail.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Problem {
    /// A problem with its status, title and detail.
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem { status, title, detail: detail.into() }
    }

    /// A failure of the daemon: logged in full, answered as 500.
    pub fn internal(e: impl std::fmt::Display) -> Problem {
        tracing::error!("internal error: {e}");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", "the daemon failed; see its log")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// The caller, from a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's name.
    pub user: String,
    /// The user's role.
    pub role: Role,
}

impl Caller {
    /// Refuses callers below `role`.
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("this needs the {role:?} role; {} is {:?}", self.user, self.role).to_lowercase(),
            ))
        }
    }
}

/// The caller a request's bearer token names, if it is valid.
fn caller_of(state: &AppState, parts: &Parts) -> Result<Caller, Problem> {
    let unauthorized = |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail);
    let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| unauthorized("no Authorization header"))?;
    let secret = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("Authorization must be \"Bearer <token>\""))?;
    let token = state.store.token(&auth::token_hash(secret.trim())).map_err(Problem::internal)?;
    let token = token.filter(|t| t.expires_ms > now_ms()).ok_or_else(|| unauthorized("unknown or expired token"))?;
    let user = state.store.user(&token.user).map_err(Problem::internal)?;
    let user = user.ok_or_else(|| unauthorized("the token's user no longer exists"))?;
    Ok(Caller { user: token.user, role: user.role })
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Caller, Problem> {
        // The audit layer already looked the token up for mutating calls.
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(caller.clone()),
            None => caller_of(state, parts),
        }
    }
}

/// Who an audit record names, set on a response by a handler that knows
/// better than the token (login).
#[derive(Clone)]
struct AuditWho(String);

/// Records every mutating call (any method but GET, HEAD and OPTIONS) with
/// who made it, from where, and how it ended.
async fn audit_layer(State(state): State<Shared>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let response = next.run(request).await;
        state.counters.response(response.status());
        return response;
    }
    let (mut parts, body) = request.into_parts();
    let caller = caller_of(&state, &parts).ok();
    let who = caller.as_ref().map_or_else(|| "-".to_owned(), |c| c.user.clone());
    if let Some(caller) = caller {
        parts.extensions.insert(caller);
    }
    let from = parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(String::new, |c| c.0.ip().to_string());
    let what = format!("{} {}", parts.method, parts.uri.path());
    let response = next.run(Request::from_parts(parts, body)).await;
    let who = response.extensions().get::<AuditWho>().map_or(who, |w| w.0.clone());
    state.counters.response(response.status());
    let record = AuditRecord { at_ms: now_ms(), who, from, what, status: response.status().as_u16() };
    if let Err(e) = state.store.append_audit(&record) {
        // An unaudited change must not look like a success.
        tracing::error!("audit log write failed: {e}");
        return Problem::internal(e).into_response();
    }
    response
}

/// Every route the router serves, as (method, path template). The OpenAPI
/// document (`openapi/stageboxd.yaml`) must list exactly these; a test
/// checks both ways.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("POST", "/api/v1/login"),
    ("GET", "/api/v1/system"),
    ("PUT", "/api/v1/system/tls"),
    ("GET", "/api/v1/system/update"),
    ("POST", "/api/v1/system/update"),
    ("POST", "/api/v1/system/reboot"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("DELETE", "/api/v1/users/{name}"),
    ("PUT", "/api/v1/users/{name}/password"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{id}"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/plugins"),
    ("POST", "/api/v1/plugins"),
    ("GET", "/api/v1/plugins/{hash}"),
    ("DELETE", "/api/v1/plugins/{hash}"),
    ("POST", "/api/v1/plugins/{hash}/enable"),
    ("POST", "/api/v1/plugins/{hash}/disable"),
    ("GET", "/api/v1/flows"),
    ("GET", "/api/v1/flows/{id}/thumbnail"),
    ("GET", "/"),
    ("GET", "/assets/app.js"),
    ("GET", "/assets/style.css"),
    ("GET", "/assets/hls.min.js"),
    ("GET", "/api/v1/pipelines"),
    ("POST", "/api/v1/pipelines"),
    ("GET", "/api/v1/pipelines/{name}"),
    ("PUT", "/api/v1/pipelines/{name}"),
    ("DELETE", "/api/v1/pipelines/{name}"),
    ("POST", "/api/v1/pipelines/{name}/start"),
    ("POST", "/api/v1/pipelines/{name}/stop"),
    ("GET", "/api/v1/channels"),
    ("POST", "/api/v1/channels"),
    ("GET", "/api/v1/channels/{name}"),
    ("PUT", "/api/v1/channels/{name}"),
    ("DELETE", "/api/v1/channels/{name}"),
    ("POST", "/api/v1/channels/{name}/start"),
    ("POST", "/api/v1/channels/{name}/stop"),
    ("POST", "/api/v1/channels/{name}/select"),
    ("POST", "/api/v1/channels/{name}/outputs"),
    ("DELETE", "/api/v1/channels/{name}/outputs/{id}"),
    ("GET", "/api/v1/channels/{name}/markers"),
    ("POST", "/api/v1/channels/{name}/markers"),
    ("GET", "/api/v1/events"),
    ("GET", "/streams/{channel}/master.m3u8"),
    ("GET", "/streams/{channel}/{output}/index.m3u8"),
    ("GET", "/streams/{channel}/{output}/{segment}"),
];

/// CORS for the configured origins, allowing `methods` and request
/// `headers`; `None` (no CORS headers at all) when there are none or none
/// is a valid header value.
pub(crate) fn cors(
    origins: &[String],
    methods: &[Method],
    headers: &[header::HeaderName],
) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> =
        origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(methods.to_vec())
            .allow_headers(headers.to_vec()),
    )
}

/// The streams alone, for the plain-HTTP address.
pub fn streams_router(state: Shared) -> Router {
    crate::streams::router(&state.config.streams_cors_origins)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// The API's routes.
pub fn router(state: Shared) -> Router {
    let cors = cors(
        &state.config.cors_origins,
        &[Method::GET, Method::POST, Method::PUT, Method::DELETE],
        &[header::AUTHORIZATION, header::CONTENT_TYPE],
    );
    let streams = crate::streams::router(&state.config.streams_cors_origins);
    let router = Router::new()
        .route("/health", get(health))
        .route("/api/v1/login", post(login))
        .route("/api/v1/system", get(system))
        .route("/api/v1/system/tls", axum::routing::put(crate::certificate::install))
        .route(
            "/api/v1/system/update",
            get(crate::update::status)
                .post(crate::update::install)
                // Streamed to disk; the handler enforces `max_bundle_bytes`.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/system/reboot", post(crate::update::reboot))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/users", get(accounts::list_users).post(accounts::create_user))
        .route("/api/v1/users/{name}", axum::routing::delete(accounts::delete_user))
        .route("/api/v1/users/{name}/password", axum::routing::put(accounts::set_password))
        .route("/api/v1/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(accounts::delete_token))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/api/v1/plugins",
            get(plugins::list)
                .post(plugins::upload)
                // The handler enforces the configured limit (and refuses
                // early on Content-Length); this only lifts axum's default.
                .layer(axum::extract::DefaultBodyLimit::max(
                    state.config.max_upload_bytes.try_into().unwrap_or(usize::MAX),
                )),
        )
        .route("/api/v1/plugins/{hash}", get(plugins::get).delete(plugins::delete))
        .route("/api/v1/plugins/{hash}/enable", post(plugins::enable))
        .route("/api/v1/plugins/{hash}/disable", post(plugins::disable))
        .route("/api/v1/flows", get(flows::list))
        .route("/api/v1/flows/{id}/thumbnail", get(flows::thumbnail))
        .route("/", get(crate::dashboard::index))
        .route("/assets/app.js", get(crate::dashboard::script))
        .route("/assets/style.css", get(crate::dashboard::style))
        .route("/assets/hls.min.js", get(crate::dashboard::hls))
        .route("/api/v1/pipelines", get(pipelines::list).post(pipelines::create))
        .route("/api/v1/pipelines/{name}", get(pipelines::get).put(pipelines::update).delete(pipelines::delete))
        .route("/api/v1/pipelines/{name}/start", post(pipelines::start))
        .route("/api/v1/pipelines/{name}/stop", post(pipelines::stop))
        .route("/api/v1/channels", get(channels::list).post(channels::create))
        .route("/api/v1/channels/{name}", get(channels::get).put(channels::update).delete(channels::delete))
        .route("/api/v1/channels/{name}/start", post(channels::start))
        .route("/api/v1/channels/{name}/stop", post(channels::stop))
        .route("/api/v1/channels/{name}/select", post(channels::select))
        .route("/api/v1/channels/{name}/outputs", post(channels::add_output))
        .route("/api/v1/channels/{name}/outputs/{id}", axum::routing::delete(channels::remove_output))
        .route("/api/v1/channels/{name}/markers", get(crate::markers::list).post(crate::markers::add))
        .route("/api/v1/events", get(events::stream))
        .merge(streams)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), audit_layer))
        .layer(middleware::from_fn(crate::unread::close_if_unread))
        .with_state(state);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

pub(crate) async fn not_found(method: Method, uri: axum::http::Uri) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        format!("{method} is not served on {}", uri.path()),
    )
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

/// Reads a JSON body; a bad one is a 400 that names the field.
pub fn json_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Problem> {
    let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, "Bad request body", detail);
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        bad(if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) })
    })
}

/// JSON Schema's `integer` is any number without a fraction, so `663.0`
/// is one; serde's integer types take only `663`. Numbers with a zero
/// fraction become integers before the body is read, except inside a
/// `config` object: a plugin's configuration reaches it as written.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15) {
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => {
            fields.iter_mut().filter(|(k, _)| *k != "config").for_each(|(_, v)| integral_floats_as_integers(v))
        }
        _ => {}
    }
}

async fn login(State(state): State<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, body: Bytes) -> Response {
    let (who, result) = match json_body::<Login>(&body) {
        Ok(login) => {
            // argon2 takes tens of milliseconds: off the async workers.
            let s = state.clone();
            let from = peer.ip().to_string();
            let checked = tokio::task::spawn_blocking(move || {
                let result = check_login(&s, &login, &from);
                (login.username, result)
            })
            .await;
            checked.unwrap_or_else(|e| ("-".to_owned(), Err(Problem::internal(e))))
        }
        Err(problem) => ("-".to_owned(), Err(problem)),
    };
    // Login is audited under the name tried, whatever the outcome.
    let mut response = result.into_response();
    response.extensions_mut().insert(AuditWho(who));
    response
}

/// A hash to verify against when the user does not exist, so that an
/// unknown name takes as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("no such user").unwrap_or_default())
}

fn check_login(state: &AppState, login: &Login, from: &str) -> Result<Json<serde_json::Value>, Problem> {
    let name = login.username.as_str();
    let limiter = || state.limiter.lock().unwrap_or_else(PoisonError::into_inner);
    {
        let mut limiter = limiter();
        if !limiter.allowed(name, from, state.config.login_attempts_per_minute, Instant::now()) {
            state.counters.login_failed();
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed logins",
                "wait a minute and try again",
            ));
        }
        // Counted as failed until the password is verified, so attempts
        // made at once cannot all pass the limit together. The lock is
        // not held while argon2 runs.
        limiter.failed(name, from, Instant::now());
    }
    let user = state.store.user(name).map_err(Problem::internal)?;
    let hash: &str = match &user {
        Some(u) => &u.password_hash,
        None => dummy_hash(),
    };
    let verified = auth::verify_password(&login.password, hash);
    let Some(user) = user.filter(|_| verified) else {
        state.counters.login_failed();
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", "wrong user name or password"));
    };
    limiter().succeeded(name, from);
    let role = user.role;
    let secret = auth::new_secret("sbx_", 32);
    let now = now_ms();
    let token = Token {
        user: name.to_owned(),
        label: "login".into(),
        created_ms: now,
        expires_ms: now + state.config.session_hours * 3_600_000,
    };
    state.store.put_token(&auth::token_hash(&secret), &token).map_err(Problem::internal)?;
    Ok(Json(json!({ "token": secret, "expires_ms": token.expires_ms, "role": role })))
}

/// What this box has, detected from the devices and drivers present.
fn capabilities() -> serde_json::Value {
    let count = |dir: &str, prefix: &str| {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(prefix)).count())
            .unwrap_or(0)
    };
    json!({
        "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "nvidia_gpus": count("/proc/driver/nvidia/gpus", ""),
        "vulkan_drivers": count("/usr/share/vulkan/icd.d", ""),
        "rdma_devices": count("/sys/class/infiniband", ""),
        "ptp_clocks": count("/dev", "ptp"),
    })
}

async fn system(State(state): State<Shared>, caller: Caller) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Viewer)?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "capabilities": capabilities(),
        "clock": { "source": "system", "locked": false },
        "tls": { "sha256": state.certificates.fingerprint() },
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

async fn audit(
    State(state): State<Shared>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Admin)?;
    let Query(q) = query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad query", e.body_text()))?;
    // As documented: JSON-safe integers, and pages of at most 1000.
    if q.after > (1 << 53) - 1 {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "Bad query", "after: at most 2^53 - 1"));
    }
    if q.limit > 1000 {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "Bad query", "limit: 0 to 1000"));
    }
    let records = state.store.audit(q.after, q.limit).map_err(Problem::internal)?;
    let records: Vec<_> = records
        .into_iter()
        .map(|(seq, r)| json!({ "seq": seq, "at_ms": r.at_ms, "who": r.who, "from": r.from, "what": r.what, "status": r.status }))
        .collect();
    Ok(Json(json!({ "records": records })))
}
