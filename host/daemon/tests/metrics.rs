//! `/metrics` read by the Prometheus project's own parser
//! (prometheus-client from PyPI).

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, admin_token, client, py_tool};
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};

/// The samples prometheus-client parses out of `text`: "name{labels} value".
fn parse(text: &str) -> Vec<String> {
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value:g} {family.type}")
"#;
    let mut child = Command::new(py_tool("python3"))
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "prometheus-client refused the text: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn metrics_parse_and_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let daemon = Daemon::start(&state);
    let c = client(&state);
    let url = &daemon.url;
    assert_eq!(c.get(format!("{url}/metrics")).send().unwrap().status(), 401);
    for _ in 0..2 {
        let r = c
            .post(format!("{url}/api/v1/login"))
            .json(&json!({ "username": "admin", "password": "nope" }))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let token = admin_token(&c, url, &state);
    let r = c.get(format!("{url}/metrics")).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let samples = parse(&r.text().unwrap());
    let has = |s: &str| samples.iter().any(|x| x == s);
    assert!(has("stagebox_login_failures_total{} 2 counter"), "{samples:#?}");
    assert!(has("stagebox_users{} 1 gauge"), "{samples:#?}");
    // Answered before this one: 401 (metrics), 401 ×2 (login), 200 (login).
    assert!(has("stagebox_http_responses_total{class=4xx} 3 counter"), "{samples:#?}");
    assert!(has("stagebox_http_responses_total{class=2xx} 1 counter"), "{samples:#?}");
    assert!(samples.iter().any(|s| s.starts_with("stagebox_uptime_seconds{} ")));
}
