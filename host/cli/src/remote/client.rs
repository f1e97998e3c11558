//! Calls to a box's API: the base URL, the token, the trust, and errors
//! that carry the API's own message.

use super::session::{Session, Trust};
use super::trust::pinned_config;
use anyhow::{Context, Result, anyhow, bail};
use reqwest::Method;
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A client of one box.
pub struct Client {
    http: Http,
    base: String,
    token: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

/// How long a call may take (uploads and streams set their own).
const TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// A client of `url` trusting as `trust` says; `None` is first contact
    /// (any certificate, noted for pinning).
    pub fn new(url: &str, trust: Option<&Trust>, token: Option<String>) -> Result<Client> {
        let base = url.trim_end_matches('/').to_owned();
        if !base.starts_with("https://") {
            bail!("{url}: the API is HTTPS only; give https://BOX:8443");
        }
        let seen = Arc::new(Mutex::new(None));
        let builder = Http::builder().timeout(TIMEOUT).connect_timeout(Duration::from_secs(10));
        let http = match trust {
            Some(Trust::CaFile(path)) => {
                let pem = std::fs::read(path).with_context(|| format!("reading CA file {}", path.display()))?;
                let ca = reqwest::Certificate::from_pem(&pem)
                    .with_context(|| format!("{} holds no PEM certificate", path.display()))?;
                builder.tls_built_in_root_certs(false).add_root_certificate(ca).build()?
            }
            Some(Trust::Pinned(pin)) => {
                builder.use_preconfigured_tls(pinned_config(Some(pin.clone()), seen.clone())?).build()?
            }
            None => builder.use_preconfigured_tls(pinned_config(None, seen.clone())?).build()?,
        };
        Ok(Client { http, base, token, seen })
    }

    /// A client of the saved session's box.
    pub fn from_session(s: &Session) -> Result<Client> {
        Client::new(&s.url, Some(&s.trust), Some(s.token.clone()))
    }

    /// The fingerprint of the certificate the last connection was offered.
    pub fn seen_fingerprint(&self) -> Option<String> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The box's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` (`/api/v1/...`) with the token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends a request; an answer that is not a success becomes an error
    /// with the API's title and detail.
    pub fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().map_err(|e| anyhow!("{}: {}", self.base, chain(&e)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().unwrap_or_default();
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match (problem["title"].as_str(), problem["detail"].as_str()) {
            (Some(title), Some(detail)) => bail!("{} {title}: {detail}", status.as_u16()),
            _ => bail!("{}: {}", status, text.trim()),
        }
    }

    /// Calls `method path` with an optional JSON body; the JSON answer
    /// (`null` for 204).
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut request = self.request(method, path);
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = self.send(request)?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        response.json().context("the box answered something that is not JSON")
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None)
    }

    /// `GET path`, answered as text (`/metrics`).
    pub fn text(&self, path: &str) -> Result<String> {
        Ok(self.send(self.request(Method::GET, path))?.text()?)
    }
}

/// An error with its causes, one line (reqwest hides the TLS reason two
/// levels down).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
