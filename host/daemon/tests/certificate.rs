//! Installing a real certificate through the API: checked against its key,
//! presented to new connections at once, kept across a restart; bad
//! input changes nothing and names the field.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, admin_token, client};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::time::Duration;

/// A client that trusts only `ca_pem`.
fn trusting(ca_pem: &str) -> Client {
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .pool_max_idle_per_host(0) // a new connection (and handshake) per request
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn an_installed_certificate_is_served_at_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let daemon = Daemon::start(&state);
    let self_signed = std::fs::read_to_string(state.join("tls/cert.pem")).unwrap();
    let c = client(&state);
    let token = admin_token(&c, &daemon.url, &state);
    let put = |body: Value| {
        let r = c.put(format!("{}/api/v1/system/tls", daemon.url)).bearer_auth(&token).json(&body).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };

    // A CA of our own and a server certificate it signs.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();
    let chain = format!("{}{}", server_cert.pem(), ca.pem());

    // Bad input: named, and nothing changes.
    let (s, v) = put(json!({ "certificate": "junk", "private_key": server_key.serialize_pem() }));
    assert_eq!(s, 422);
    assert!(v["detail"].as_str().unwrap().starts_with("certificate:"), "{v}");
    let other_key = KeyPair::generate().unwrap();
    let (s, v) = put(json!({ "certificate": chain, "private_key": other_key.serialize_pem() }));
    assert_eq!(s, 422);
    assert_eq!(v["detail"], "private_key: does not match the certificate's public key");
    let (s, v) = put(json!({ "certificate": chain }));
    assert_eq!(s, 400);
    assert!(v["detail"].as_str().unwrap().contains("private_key"), "{v}");
    assert_eq!(std::fs::read_to_string(state.join("tls/cert.pem")).unwrap(), self_signed);

    // The real thing: the next connection gets it.
    let (s, v) = put(json!({ "certificate": chain, "private_key": server_key.serialize_pem() }));
    assert_eq!(s, 200, "{v}");
    let url = daemon.url.replace("127.0.0.1", "localhost");
    let new = trusting(&ca.pem());
    let system: Value = new.get(format!("{url}/api/v1/system")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(system["tls"]["sha256"], v["sha256"]);
    assert!(trusting(&self_signed).get(format!("{url}/health")).send().is_err(), "the old certificate is gone");
    let key_mode = std::fs::metadata(state.join("tls/key.pem")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key_mode.permissions()) & 0o777, 0o600);

    // Kept across a restart; the change is audited.
    drop(daemon);
    let daemon = Daemon::start(&state);
    let url = daemon.url.replace("127.0.0.1", "localhost");
    assert_eq!(new.get(format!("{url}/health")).send().unwrap().status(), 200);
    let audit: Value =
        new.get(format!("{url}/api/v1/audit?limit=1000")).bearer_auth(&token).send().unwrap().json().unwrap();
    let puts: Vec<u64> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["what"] == "PUT /api/v1/system/tls")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(puts, [422, 422, 400, 200]);
}
