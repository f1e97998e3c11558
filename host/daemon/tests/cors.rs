//! CORS: off unless origins are configured, and then only for them.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, client};

const ORIGIN: &str = "https://ops.example.com";

fn allow_origin(r: &reqwest::blocking::Response) -> Option<String> {
    r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn cors_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let daemon = Daemon::start(&state);
    let r = client(&state).get(format!("{}/health", daemon.url)).header("Origin", ORIGIN).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(allow_origin(&r), None);
}

#[test]
fn configured_origins_and_only_they_get_cors() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("stageboxd.toml");
    std::fs::write(&config, format!("cors_origins = [\"{ORIGIN}\"]\n")).unwrap();
    let daemon = Daemon::start_with(&state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let c = client(&state);
    let r = c.get(format!("{}/health", daemon.url)).header("Origin", ORIGIN).send().unwrap();
    assert_eq!(allow_origin(&r).as_deref(), Some(ORIGIN));
    let r = c.get(format!("{}/health", daemon.url)).header("Origin", "https://evil.example").send().unwrap();
    assert_eq!(allow_origin(&r), None, "another origin gets nothing");
    // A browser's preflight for an authenticated call.
    let r = c
        .request(reqwest::Method::OPTIONS, format!("{}/api/v1/system", daemon.url))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(allow_origin(&r).as_deref(), Some(ORIGIN));
    let headers = r.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
}
