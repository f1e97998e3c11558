//! Every route against every role, and every mutating call in the audit
//! log, against the real daemon over TLS.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, client};
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password";

struct Box_ {
    _dir: tempfile::TempDir,
    daemon: Daemon,
    c: Client,
}

impl Box_ {
    fn new() -> Box_ {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let daemon = Daemon::start(&state);
        let c = client(&state);
        Box_ { _dir: dir, daemon, c }
    }

    fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::blocking::Response {
        let mut r = self.c.request(method, format!("{}{path}", self.daemon.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().unwrap()
    }

    fn login(&self, user: &str, password: &str) -> String {
        let r = self.call(None, Method::POST, "/api/v1/login", Some(json!({ "username": user, "password": password })));
        assert_eq!(r.status(), 200, "login {user}");
        r.json::<Value>().unwrap()["token"].as_str().unwrap().to_owned()
    }

    fn admin(&self, state_password: &str) -> String {
        self.login("admin", state_password)
    }
}

fn admin_password(b: &Box_) -> String {
    let text = std::fs::read_to_string(b._dir.path().join("state/admin-credential")).unwrap();
    text.lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_owned()
}

#[test]
fn every_route_against_every_role_and_the_audit_log_has_every_change() {
    let b = Box_::new();
    let admin = b.admin(&admin_password(&b));
    for (name, role) in [("viewer", "viewer"), ("operator", "operator"), ("victim", "viewer")] {
        let r = b.call(
            Some(&admin),
            Method::POST,
            "/api/v1/users",
            Some(json!({ "name": name, "password": PASSWORD, "role": role })),
        );
        assert_eq!(r.status(), 201);
    }
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("viewer", Some(b.login("viewer", PASSWORD))),
        ("operator", Some(b.login("operator", PASSWORD))),
        ("admin", Some(admin.clone())),
    ];
    let seen = |t: &Value| t["records"].as_array().unwrap().len();
    let before: Value = b.call(Some(&admin), Method::GET, "/api/v1/audit?limit=1000", None).json().unwrap();
    let audit_start = seen(&before);

    // (method, path, body, the lowest role allowed, its status)
    let routes: Vec<(Method, &str, Option<Value>, &str, u16)> = vec![
        (Method::GET, "/health", None, "anonymous", 200),
        (Method::GET, "/api/v1/system", None, "viewer", 200),
        (Method::GET, "/metrics", None, "viewer", 200),
        (Method::GET, "/api/v1/audit", None, "admin", 200),
        (Method::GET, "/api/v1/users", None, "admin", 200),
        (
            Method::POST,
            "/api/v1/users",
            Some(json!({ "name": "new", "password": PASSWORD, "role": "viewer" })),
            "admin",
            201,
        ),
        (Method::DELETE, "/api/v1/users/nobody", None, "admin", 404),
        (Method::PUT, "/api/v1/users/victim/password", Some(json!({ "password": PASSWORD })), "admin", 204),
        (Method::GET, "/api/v1/tokens", None, "viewer", 200),
        (Method::POST, "/api/v1/tokens", Some(json!({ "label": "script" })), "viewer", 201),
        (Method::DELETE, "/api/v1/tokens/0000000000000000", None, "viewer", 404),
        (Method::GET, "/api/v1/plugins", None, "viewer", 200),
        // No multipart body: an admin gets the upload's own 400.
        (Method::POST, "/api/v1/plugins", None, "admin", 400),
        (Method::GET, "/api/v1/plugins/ab", None, "viewer", 404),
        (Method::DELETE, "/api/v1/plugins/ab", None, "admin", 404),
        (Method::POST, "/api/v1/plugins/ab/enable", None, "admin", 404),
        (Method::POST, "/api/v1/plugins/ab/disable", None, "admin", 404),
        (
            Method::PUT,
            "/api/v1/system/tls",
            Some(json!({ "certificate": "not PEM", "private_key": "not PEM" })),
            "admin",
            422,
        ),
        (Method::GET, "/api/v1/flows", None, "viewer", 200),
        (Method::GET, "/api/v1/flows/5b1d7e2a-0c3f-4e7b-9a61-3f2d8c4b1e90/thumbnail", None, "viewer", 404),
        (Method::GET, "/", None, "anonymous", 200),
        (Method::GET, "/api/v1/pipelines", None, "viewer", 200),
        // Checked whole: no nodes is a 422 that names the field.
        (Method::POST, "/api/v1/pipelines", Some(json!({ "name": "p", "nodes": [] })), "operator", 422),
        (Method::GET, "/api/v1/pipelines/nobody", None, "viewer", 404),
        (Method::PUT, "/api/v1/pipelines/nobody", Some(json!({ "nodes": [] })), "operator", 404),
        (Method::DELETE, "/api/v1/pipelines/nobody", None, "operator", 404),
        (Method::POST, "/api/v1/pipelines/nobody/start", None, "operator", 404),
        (Method::POST, "/api/v1/pipelines/nobody/stop", None, "operator", 404),
        (Method::GET, "/api/v1/channels", None, "viewer", 200),
        // Checked whole: no input is a 422 that names the field.
        (Method::POST, "/api/v1/channels", Some(json!({ "name": "c", "inputs": [] })), "operator", 422),
        (Method::GET, "/api/v1/channels/nobody", None, "viewer", 404),
        (Method::PUT, "/api/v1/channels/nobody", Some(json!({ "inputs": ["udp://127.0.0.1:1"] })), "operator", 404),
        (Method::DELETE, "/api/v1/channels/nobody", None, "operator", 404),
        (Method::POST, "/api/v1/channels/nobody/start", None, "operator", 404),
        (Method::POST, "/api/v1/channels/nobody/stop", None, "operator", 404),
        (Method::POST, "/api/v1/channels/nobody/select", Some(json!({ "input": "primary" })), "operator", 404),
        (
            Method::POST,
            "/api/v1/channels/nobody/outputs",
            Some(json!({ "id": "o", "url": "udp://127.0.0.1:1" })),
            "operator",
            404,
        ),
        (Method::DELETE, "/api/v1/channels/nobody/outputs/o", None, "operator", 404),
        (Method::GET, "/api/v1/channels/nobody/markers", None, "viewer", 404),
        (Method::POST, "/api/v1/channels/nobody/markers", Some(json!({ "text": "x" })), "operator", 404),
        (Method::GET, "/api/v1/events", None, "viewer", 200),
    ];
    let rank = |r: &str| ["anonymous", "viewer", "operator", "admin"].iter().position(|x| *x == r).unwrap();
    let mut mutations = Vec::new();
    for (method, path, body, lowest, ok) in &routes {
        for (role, token) in &tokens {
            let mut body = body.clone();
            // A second "new" user would conflict: give each its own name.
            if let Some(name) = body.as_mut().and_then(|b| b.get_mut("name")) {
                *name = json!(format!("new-{role}"));
            }
            let r = b.call(token.as_deref(), method.clone(), path, body);
            let want = if rank(role) >= rank(lowest) {
                *ok
            } else if token.is_none() {
                401
            } else {
                403
            };
            assert_eq!(r.status().as_u16(), want, "{role} {method} {path}");
            if want >= 400 {
                assert_eq!(r.headers()["content-type"], "application/problem+json", "{role} {method} {path}");
            }
            if !matches!(*method, Method::GET) {
                let who = if token.is_some() { role.to_string() } else { "-".into() };
                mutations.push((who, format!("{method} {path}"), want));
            }
        }
    }
    let after: Value = b.call(Some(&admin), Method::GET, "/api/v1/audit?limit=1000", None).json().unwrap();
    let records: Vec<(String, String, u16)> = after["records"].as_array().unwrap()[audit_start..]
        .iter()
        .map(|r| {
            (
                r["who"].as_str().unwrap().to_owned(),
                r["what"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap() as u16,
            )
        })
        .collect();
    assert_eq!(records, mutations, "every mutating call, in order, with who and how it ended");
}

#[test]
fn accounts_and_tokens_behave() {
    let b = Box_::new();
    let admin = b.admin(&admin_password(&b));
    // Validation names the field.
    let r = b.call(
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({ "name": "Bad Name", "password": PASSWORD, "role": "viewer" })),
    );
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().unwrap()["detail"].as_str().unwrap().starts_with("name:"));
    let r = b.call(
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({ "name": "ok", "password": "short", "role": "viewer" })),
    );
    assert!(r.json::<Value>().unwrap()["detail"].as_str().unwrap().starts_with("password:"));
    let r = b.call(
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({ "name": "ok", "password": PASSWORD, "role": "root" })),
    );
    assert!(r.json::<Value>().unwrap()["detail"].as_str().unwrap().starts_with("role:"));
    // The last admin stays.
    assert_eq!(b.call(Some(&admin), Method::DELETE, "/api/v1/users/admin", None).status(), 409);

    // A user changes their own password; their old token keeps working,
    // their new password logs in.
    let r = b.call(
        Some(&admin),
        Method::POST,
        "/api/v1/users",
        Some(json!({ "name": "ed", "password": PASSWORD, "role": "operator" })),
    );
    assert_eq!(r.status(), 201);
    assert_eq!(
        b.call(
            Some(&admin),
            Method::POST,
            "/api/v1/users",
            Some(json!({ "name": "ed", "password": PASSWORD, "role": "operator" }))
        )
        .status(),
        409
    );
    let ed = b.login("ed", PASSWORD);
    let r = b.call(
        Some(&ed),
        Method::PUT,
        "/api/v1/users/ed/password",
        Some(json!({ "password": "another long password" })),
    );
    assert_eq!(r.status(), 204);
    b.login("ed", "another long password");

    // An API token: shown once, listed by id, works, and stops when deleted.
    let r = b.call(Some(&ed), Method::POST, "/api/v1/tokens", Some(json!({ "label": "ci", "expires_hours": 1 })));
    assert_eq!(r.status(), 201);
    let made: Value = r.json().unwrap();
    let (secret, id) = (made["token"].as_str().unwrap().to_owned(), made["id"].as_str().unwrap().to_owned());
    assert_eq!(b.call(Some(&secret), Method::GET, "/api/v1/system", None).status(), 200);
    let listed: Value = b.call(Some(&ed), Method::GET, "/api/v1/tokens", None).json().unwrap();
    assert!(listed["tokens"].as_array().unwrap().iter().all(|t| t["user"] == "ed" && t.get("token").is_none()));
    assert_eq!(b.call(Some(&ed), Method::DELETE, &format!("/api/v1/tokens/{id}"), None).status(), 204);
    assert_eq!(b.call(Some(&secret), Method::GET, "/api/v1/system", None).status(), 401);
    let r = b.call(Some(&ed), Method::POST, "/api/v1/tokens", Some(json!({ "label": "x", "expires_hours": 100000 })));
    assert!(r.json::<Value>().unwrap()["detail"].as_str().unwrap().starts_with("expires_hours:"));

    // Deleting a user ends their tokens.
    assert_eq!(b.call(Some(&admin), Method::DELETE, "/api/v1/users/ed", None).status(), 204);
    assert_eq!(b.call(Some(&ed), Method::GET, "/api/v1/system", None).status(), 401);
}
