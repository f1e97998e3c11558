//! `PUT /api/v1/system/tls` (admin): installs a certificate chain and its
//! private key, checked to belong together, kept atomically under the
//! state folder and presented from the next connection on.

use crate::api::{Caller, Problem, Shared, json_body};
use crate::auth::Role;
use crate::tls::TlsError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Install {
    /// PEM: the server's certificate first, then its intermediates.
    certificate: String,
    /// PEM: its private key (PKCS#8, PKCS#1 or SEC1).
    private_key: String,
}

/// Larger than any real chain; refused before parsing.
const MAX_PEM: usize = 256 << 10;

/// `PUT /api/v1/system/tls` (admin).
pub async fn install(
    State(state): State<Shared>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    caller.require(Role::Admin)?;
    let request: Install = json_body(&body)?;
    for (field, text) in [("certificate", &request.certificate), ("private_key", &request.private_key)] {
        if text.len() > MAX_PEM {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid certificate",
                format!("{field}: more than {MAX_PEM} bytes"),
            ));
        }
    }
    let certs = state.certificates.clone();
    let result = tokio::task::spawn_blocking(move || certs.install(&request.certificate, &request.private_key))
        .await
        .map_err(Problem::internal)?;
    match result {
        Ok(sha256) => {
            tracing::info!("installed a new TLS certificate, SHA-256 {sha256}");
            Ok(Json(json!({ "sha256": sha256 })))
        }
        Err(TlsError::Pem(detail)) => {
            Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid certificate", detail))
        }
        Err(e) => Err(Problem::internal(format!("{e:#}"))),
    }
}
