//! The web dashboard: its files served under a strict content security
//! policy, video thumbnails, and the walkthrough in headless Chromium
//! (tests/browser/walkthrough.mjs, playwright-core driving Debian's
//! chromium): login, live status, upload, errors next to fields,
//! thumbnails, a viewer without controls. Screenshots go to
//! `target/screenshots/`.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, admin_token, browser_script, client, root};
use serde_json::json;
use std::time::Duration;

fn demo_box(dir: &std::path::Path) -> (std::path::PathBuf, Daemon) {
    let config = dir.join("stageboxd.toml");
    std::fs::write(&config, "allow_unsigned_plugins = true\n").unwrap();
    let state = dir.join("state");
    let daemon = Daemon::start_with(
        &state,
        &[("STAGEBOX_CONFIG", config.to_str().unwrap()), ("STAGEBOX_DEMO_PIPELINES", "true")],
    );
    (state, daemon)
}

#[test]
fn the_dashboard_is_served_with_a_strict_policy_and_thumbnails_are_jpegs() {
    let dir = tempfile::tempdir().unwrap();
    let (state, daemon) = demo_box(dir.path());
    let c = client(&state);
    let url = &daemon.url;
    for (path, kind) in [("/", "text/html"), ("/assets/app.js", "text/javascript"), ("/assets/style.css", "text/css")] {
        let r = c.get(format!("{url}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    let token = admin_token(&c, url, &state);
    let flows: serde_json::Value =
        c.get(format!("{url}/api/v1/flows")).bearer_auth(&token).send().unwrap().json().unwrap();
    let id_of = |label: &str| {
        flows["flows"].as_array().unwrap().iter().find(|f| f["label"] == label).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let thumb = |id: &str| c.get(format!("{url}/api/v1/flows/{id}/thumbnail")).bearer_auth(&token).send().unwrap();
    // The first grain comes within a frame of the start; poll (bounded).
    let id = id_of("demo-timecode/timecode");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let r = loop {
        let r = thumb(&id);
        if r.status() == 200 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let jpeg = r.bytes().unwrap();
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    assert_eq!(thumb(&id_of("demo-scte35/cues")).status(), 422);
    assert_eq!(thumb("5b1d7e2a-0c3f-4e7b-9a61-3f2d8c4b1e90").status(), 404);
    assert_eq!(thumb("not-a-uuid").status(), 404);
    assert_eq!(c.get(format!("{url}/api/v1/flows/x/thumbnail")).send().unwrap().status(), 401);
}

#[test]
fn the_walkthrough_passes_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (state, daemon) = demo_box(dir.path());
    let c = client(&state);
    let token = admin_token(&c, &daemon.url, &state);
    let viewer_password = "a viewer's long password";
    let r = c
        .post(format!("{}/api/v1/users", daemon.url))
        .bearer_auth(&token)
        .json(&json!({ "name": "viewer", "password": viewer_password, "role": "viewer" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let password = std::fs::read_to_string(state.join("admin-credential")).unwrap();
    let password = password.lines().find_map(|l| l.strip_prefix("password: ")).unwrap();
    let shots = root().join("target/screenshots");
    // The walkthrough takes about 20 s.
    browser_script(
        "walkthrough.mjs",
        &[
            ("STAGEBOX_URL", daemon.url.as_ref()),
            ("STAGEBOX_PASSWORD", password.as_ref()),
            ("STAGEBOX_VIEWER_PASSWORD", viewer_password.as_ref()),
            ("STAGEBOX_WASM", stagebox_guest_artifacts::HOSTILE.as_ref()),
            ("STAGEBOX_SCREENSHOTS", shots.as_os_str()),
        ],
        Duration::from_secs(180),
        "walkthrough passed",
    );
    for shot in ["dashboard-pipelines.png", "dashboard-plugins.png", "dashboard-flows.png", "dashboard-viewer.png"] {
        assert!(shots.join(shot).metadata().unwrap().len() > 10_000, "{shot}");
    }
}
