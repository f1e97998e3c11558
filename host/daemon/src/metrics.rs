//! `/metrics`: the daemon's counters in the Prometheus text format.

use crate::api::{Caller, Problem, Shared};
use crate::auth::Role;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters the API keeps.
#[derive(Debug, Default)]
pub struct Counters {
    /// Answers by status class: 1xx to 5xx.
    responses: [AtomicU64; 5],
    /// Failed logins (wrong name or password, or over the limit).
    login_failures: AtomicU64,
}

impl Counters {
    /// Counts an answer.
    pub fn response(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed login.
    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// `GET /metrics` (viewer).
pub async fn metrics(State(state): State<Shared>, caller: Caller) -> Result<Response, Problem> {
    caller.require(Role::Viewer)?;
    let c = &state.counters;
    let mut out = String::new();
    metric(
        &mut out,
        "stagebox_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        &[("", state.started.elapsed().as_secs_f64())],
    );
    let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    let labels: Vec<String> = classes.iter().map(|c| format!("{{class=\"{c}\"}}")).collect();
    let samples: Vec<(&str, f64)> =
        labels.iter().zip(&c.responses).map(|(l, n)| (l.as_str(), n.load(Ordering::Relaxed) as f64)).collect();
    metric(&mut out, "stagebox_http_responses_total", "counter", "API answers by status class.", &samples);
    let failures = c.login_failures.load(Ordering::Relaxed) as f64;
    metric(&mut out, "stagebox_login_failures_total", "counter", "Failed logins.", &[("", failures)]);
    let users = state.store.user_count().map_err(Problem::internal)? as f64;
    metric(&mut out, "stagebox_users", "gauge", "User accounts.", &[("", users)]);
    state.engine.write_metrics(&mut out);
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    Ok(response)
}
