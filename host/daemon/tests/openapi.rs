//! The checked-in OpenAPI document (`openapi/stageboxd.yaml`) against the
//! daemon: the same routes both ways, and schemathesis (from PyPI) sending
//! generated requests, valid and not, with every response checked against
//! the document: no 5xx, documented statuses, content types and schemas.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, admin_token, client, py_tool, root};
use stagebox_daemon::api::ROUTES;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

fn document() -> std::path::PathBuf {
    root().join("openapi/stageboxd.yaml")
}

#[test]
fn the_document_lists_exactly_the_routes_served() {
    let script = r#"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for path, ops in doc["paths"].items():
    for method in ops:
        if method in ("get", "put", "post", "delete", "patch"):
            print(method.upper(), path)
"#;
    let out = Command::new(py_tool("python3")).arg("-c").arg(script).arg(document()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let documented: BTreeSet<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    let served: BTreeSet<String> = ROUTES.iter().map(|(m, p)| format!("{m} {p}")).collect();
    assert_eq!(documented, served);

    // And the router really serves each listed route (not the 404 or 405
    // fallbacks).
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let daemon = Daemon::start(&state);
    let c = client(&state);
    let token = admin_token(&c, &daemon.url, &state);
    for (method, path) in ROUTES {
        let path = path.replace("{name}", "nobody").replace("{id}", "0");
        let r = c.request(method.parse().unwrap(), format!("{}{path}", daemon.url)).bearer_auth(&token).send().unwrap();
        if r.headers().get("content-type").is_some_and(|t| t == "text/event-stream") {
            // The event stream never ends: its headers are the answer.
            assert_eq!(r.status(), 200, "{method} {path}");
            continue;
        }
        let body = r.text().unwrap();
        assert!(!body.contains("no route for") && !body.contains("is not served on"), "{method} {path}: {body}");
    }
}

#[test]
fn schemathesis_finds_no_problem() {
    // Bounded: a fixed seed and 25 examples per operation (a few seconds).
    schemathesis(25, Some(20_261_124), 300);
}

/// The long run: `cargo xtask schemathesis [examples]` (default 500 per
/// operation, a fresh seed each time).
#[test]
#[ignore = "long; run by `cargo xtask schemathesis`"]
fn schemathesis_long_run() {
    let examples = std::env::var("STAGEBOX_SCHEMATHESIS_EXAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    schemathesis(examples, None, 3600);
}

fn schemathesis(examples: u32, seed: Option<u64>, limit_s: u64) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // The appliance's side of updates and reboots, stood in for: an updater
    // that refuses everything (schema-valid bodies are not bundles anyway)
    // and a folder for the reboot request, so that neither answers 503,
    // which schemathesis counts as a server error.
    let config = dir.path().join("stageboxd.toml");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        &config,
        format!("rauc = \"/bin/false\"\nreboot_flag = {:?}\n", run.join("reboot").display().to_string()),
    )
    .unwrap();
    let daemon = Daemon::start_with(&state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let c = client(&state);
    let token = admin_token(&c, &daemon.url, &state);
    let mut st = Command::new(py_tool("st"));
    st.arg("--config-file")
        .arg(root().join("openapi/schemathesis.toml"))
        .arg("run")
        .arg(document())
        .args(["--url", &daemon.url, "--tls-verify"])
        .arg(state.join("tls/cert.pem"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &examples.to_string(), "--request-timeout", "10", "--no-color"])
        // Not the stateful phase: it follows links from GET /api/v1/tokens
        // to DELETE /api/v1/tokens/{id} and revokes its own credential, so
        // the rest of the run would test only the 401s.
        .args(["--phases", "examples,coverage,fuzzing"])
        // The event stream never ends, so no response to check ever
        // arrives; tests/pipelines.rs reads it instead.
        .args(["--exclude-path", "/api/v1/events"]);
    if let Some(seed) = seed {
        st.args(["--seed", &seed.to_string()]);
    }
    let child = st
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its output is read as it comes (a full pipe would stall it), on a
    // thread, while this one keeps the time limit.
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_secs(limit_s)) else {
        let _ = Command::new("kill").args(["-9", &pid]).status();
        panic!("schemathesis ran past {limit_s} s");
    };
    let out = out.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // Warnings (operations that only ever 404 without a signed plugin to
    // work on) are not failures; failures are listed under "Failures:".
    assert!(!text.contains("Failures:") && text.contains(" passed"), "{text}");
    eprintln!("{}", text.lines().rev().take(4).collect::<Vec<_>>().join("\n"));
}
