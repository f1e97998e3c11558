//! stageboxd as a user meets it: a fresh state folder, a real daemon
//! process, HTTPS with the certificate it made, the credential it printed.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, client};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn credential(state: &Path) -> String {
    let text = std::fs::read_to_string(state.join("admin-credential")).unwrap();
    text.lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_owned()
}

fn login(c: &Client, url: &str, user: &str, password: &str) -> reqwest::blocking::Response {
    c.post(format!("{url}/api/v1/login")).json(&json!({ "username": user, "password": password })).send().unwrap()
}

fn token(c: &Client, url: &str, password: &str) -> String {
    let r = login(c, url, "admin", password);
    assert_eq!(r.status(), 200);
    r.json::<Value>().unwrap()["token"].as_str().unwrap().to_owned()
}

fn problem(r: reqwest::blocking::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().unwrap();
    assert_eq!(body["status"], status);
    body
}

fn state_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    (dir, state)
}

#[test]
fn a_fresh_box_serves_https_with_a_working_admin_credential() {
    let (_dir, state) = state_dir();
    let daemon = Daemon::start(&state);
    let c = client(&state);
    let url = &daemon.url;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // The credential: printed once, in an owner-only file, and it works.
    let password = credential(&state);
    assert_eq!(daemon.printed_password.as_deref(), Some(password.as_str()));
    let mode = std::fs::metadata(state.join("admin-credential")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::metadata(state.join("tls/key.pem")).unwrap().permissions().mode() & 0o777, 0o600);

    let health: Value = c.get(format!("{url}/health")).send().unwrap().json().unwrap();
    assert_eq!(health["status"], "ok");
    let body = problem(c.get(format!("{url}/api/v1/system")).send().unwrap(), 401);
    assert!(body["detail"].as_str().unwrap().contains("Authorization"));
    let bad = problem(c.get(format!("{url}/api/v1/system")).bearer_auth("sbx_nope").send().unwrap(), 401);
    assert!(bad["detail"].as_str().unwrap().contains("unknown or expired token"));

    let token = token(&c, url, &password);
    let system: Value = c.get(format!("{url}/api/v1/system")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(system["version"], env!("CARGO_PKG_VERSION"));
    assert!(system["capabilities"]["cpus"].as_u64().unwrap() >= 1);

    problem(login(&c, url, "admin", "wrong"), 401);
    let body = problem(c.post(format!("{url}/api/v1/login")).body("{\"username\": 1}").send().unwrap(), 400);
    assert!(body["detail"].as_str().unwrap().contains("username"), "{body}");
    problem(c.get(format!("{url}/api/v1/nothing")).bearer_auth(&token).send().unwrap(), 404);

    // No plain HTTP on the API port.
    let plain = reqwest::blocking::get(url.replace("https://", "http://") + "/health");
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // A restart keeps the certificate, prints no password, and the token works.
    let cert = std::fs::read(state.join("tls/cert.pem")).unwrap();
    drop(daemon);
    let again = Daemon::start(&state);
    assert_eq!(again.printed_password, None);
    assert_eq!(std::fs::read(state.join("tls/cert.pem")).unwrap(), cert);
    let r = client(&state).get(format!("{}/api/v1/system", again.url)).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn every_login_attempt_is_audited_and_failures_are_rate_limited() {
    let (_dir, state) = state_dir();
    let daemon = Daemon::start(&state);
    let (c, url) = (client(&state), daemon.url.clone());
    let password = credential(&state);
    for _ in 0..5 {
        problem(login(&c, &url, "admin", "guess"), 401);
    }
    // Now even the right password waits.
    problem(login(&c, &url, "admin", &password), 429);
    problem(login(&c, &url, "mallory", "x"), 401);
    // The limit is per user and address; log in another way: a new daemon
    // keeps no failure counts, and the audit is in the store.
    drop(daemon);
    let daemon = Daemon::start(&state);
    let url = daemon.url.clone();
    let token = token(&c, &url, &password);
    let audit: Value = c.get(format!("{url}/api/v1/audit")).bearer_auth(&token).send().unwrap().json().unwrap();
    let records = audit["records"].as_array().unwrap();
    let seen: Vec<(String, u64)> =
        records.iter().map(|r| (r["who"].as_str().unwrap().to_owned(), r["status"].as_u64().unwrap())).collect();
    let mut want: Vec<(String, u64)> = vec![("admin".into(), 401); 5];
    want.extend([("admin".into(), 429), ("mallory".into(), 401), ("admin".into(), 200)]);
    assert_eq!(seen, want);
    assert!(records.iter().all(|r| r["what"] == "POST /api/v1/login" && r["from"] == "127.0.0.1"));
}

#[test]
fn committed_state_survives_kill_9() {
    let (_dir, state) = state_dir();
    let daemon = Daemon::start(&state);
    let (c, url) = (client(&state), daemon.url.clone());
    let password = credential(&state);
    let tokens: Vec<String> = (0..10).map(|_| token(&c, &url, &password)).collect();
    // Committed means answered: every token above was.
    daemon.kill9();
    let daemon = Daemon::start(&state);
    for t in &tokens {
        let r = c.get(format!("{}/api/v1/system", daemon.url)).bearer_auth(t).send().unwrap();
        assert_eq!(r.status(), 200);
    }
    let audit: Value =
        c.get(format!("{}/api/v1/audit", daemon.url)).bearer_auth(&tokens[0]).send().unwrap().json().unwrap();
    assert_eq!(audit["records"].as_array().unwrap().len(), 10);
}

#[test]
fn guesses_sent_at_once_cannot_pass_the_limit_together() {
    let (_dir, state) = state_dir();
    let daemon = Daemon::start(&state);
    let url = daemon.url.clone();
    // Twelve wrong passwords at the same moment: each attempt counts as
    // failed before its password is checked, so exactly five get checked.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let (c, url) = (client(&state), url.clone());
                s.spawn(move || login(&c, &url, "admin", "guess").status().as_u16())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");
}
