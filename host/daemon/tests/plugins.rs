//! Uploading plugins to the real daemon: signatures against trusted keys,
//! components checked against their world, the size limit, enable and
//! disable, delete.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, admin_token, client};
use ed25519_dalek::{Signer, SigningKey};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::Value;
use stagebox_guest_artifacts as guests;
use std::path::Path;

const GAIN_MANIFEST: &str = "name = \"gain\"\nversion = \"1.2.3\"\nworld = \"audio-node\"\ndescription = \"Gain\"\n";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A state folder that trusts `key(1)` under the name "vendor", with
/// extra TOML configuration.
fn state_trusting(dir: &Path, toml: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let state = dir.join("state");
    std::fs::create_dir_all(state.join("trusted-keys")).unwrap();
    std::fs::write(state.join("trusted-keys/vendor.pub"), hex(key(1).verifying_key().as_bytes())).unwrap();
    let config = dir.join("stageboxd.toml");
    std::fs::write(&config, toml).unwrap();
    (state, config)
}

fn form(wasm: &[u8], manifest: &str, signature: Option<String>) -> Form {
    let mut f = Form::new()
        .part("manifest", Part::text(manifest.to_owned()))
        .part("component", Part::bytes(wasm.to_vec()).file_name("plugin.wasm"));
    if let Some(s) = signature {
        f = f.text("signature", s);
    }
    f
}

fn signed(k: &SigningKey, wasm: &[u8], manifest: &str) -> String {
    hex(&k.sign(&stagebox_plugins::signing_message(wasm, manifest)).to_bytes())
}

#[test]
fn signed_uploads_are_kept_checked_and_managed() {
    let dir = tempfile::tempdir().unwrap();
    let (state, config) = state_trusting(dir.path(), "");
    let daemon = Daemon::start_with(&state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let c = client(&state);
    let url = &daemon.url;
    let token = admin_token(&c, url, &state);
    let upload = |f: Form| c.post(format!("{url}/api/v1/plugins")).bearer_auth(&token).multipart(f).send().unwrap();
    let wasm = std::fs::read(guests::GAIN).unwrap();
    let detail = |r: reqwest::blocking::Response, status: u16| {
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        r.json::<Value>().unwrap()["detail"].as_str().unwrap().to_owned()
    };

    // Unsigned, or signed by a key nobody trusts: refused, nothing kept.
    assert!(detail(upload(form(&wasm, GAIN_MANIFEST, None)), 422).starts_with("signature:"));
    let stranger = signed(&key(2), &wasm, GAIN_MANIFEST);
    assert!(detail(upload(form(&wasm, GAIN_MANIFEST, Some(stranger))), 422).contains("trusted key"));
    // A signature over another manifest does not carry over.
    let other = signed(&key(1), &wasm, "name = \"other\"\nversion = \"1.0.0\"\nworld = \"audio-node\"\n");
    assert!(detail(upload(form(&wasm, GAIN_MANIFEST, Some(other))), 422).contains("trusted key"));
    // The component must implement the world its manifest names.
    let video = GAIN_MANIFEST.replace("audio-node", "video-node");
    let sig = signed(&key(1), &wasm, &video);
    assert!(detail(upload(form(&wasm, &video, Some(sig))), 422).starts_with("component:"));
    assert!(detail(upload(form(b"\0asm junk", GAIN_MANIFEST, None)), 422).starts_with("component:"));
    assert!(detail(upload(form(&wasm, "name = 3", None)), 422).starts_with("manifest:"));
    assert!(detail(upload(Form::new().text("manifest", GAIN_MANIFEST)), 400).starts_with("component:"));
    let listed: Value = c.get(format!("{url}/api/v1/plugins")).bearer_auth(&token).send().unwrap().json().unwrap();
    // Nothing kept: only the bundled plugins are listed.
    assert!(listed["plugins"].as_array().unwrap().iter().all(|p| p["bundled"] == true), "{listed}");

    // Signed by the trusted key: kept, disabled until enabled.
    let r = upload(form(&wasm, GAIN_MANIFEST, Some(signed(&key(1), &wasm, GAIN_MANIFEST))));
    assert_eq!(r.status(), 201);
    let p: Value = r.json().unwrap();
    assert_eq!(
        (p["name"].as_str(), p["world"].as_str(), p["signed_by"].as_str()),
        (Some("gain"), Some("audio-node"), Some("vendor"))
    );
    assert_eq!(p["enabled"], false);
    let hash = p["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    let r: Value =
        c.post(format!("{url}/api/v1/plugins/{hash}/enable")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["enabled"], true);
    let got: Value = c.get(format!("{url}/api/v1/plugins/{hash}")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!((got["enabled"].as_bool(), got["version"].as_str()), (Some(true), Some("1.2.3")));
    let r: Value =
        c.post(format!("{url}/api/v1/plugins/{hash}/disable")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(r["enabled"], false);
    assert_eq!(c.delete(format!("{url}/api/v1/plugins/{hash}")).bearer_auth(&token).send().unwrap().status(), 204);
    assert_eq!(c.get(format!("{url}/api/v1/plugins/{hash}")).bearer_auth(&token).send().unwrap().status(), 404);
    // Every upload attempt is in the audit log.
    let audit: Value =
        c.get(format!("{url}/api/v1/audit?limit=1000")).bearer_auth(&token).send().unwrap().json().unwrap();
    let uploads = audit["records"].as_array().unwrap().iter().filter(|r| r["what"] == "POST /api/v1/plugins").count();
    assert_eq!(uploads, 8);
}

#[test]
fn uploads_over_the_limit_are_refused_early() {
    let dir = tempfile::tempdir().unwrap();
    let (state, config) = state_trusting(dir.path(), "max_upload_bytes = 4096\nallow_unsigned_plugins = true\n");
    let daemon = Daemon::start_with(&state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let c = client(&state);
    let token = admin_token(&c, &daemon.url, &state);
    let wasm = std::fs::read(guests::GAIN).unwrap();
    assert!(wasm.len() > 4096);
    let r = c
        .post(format!("{}/api/v1/plugins", daemon.url))
        .bearer_auth(&token)
        .multipart(form(&wasm, GAIN_MANIFEST, None))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().unwrap();
    assert!(body["detail"].as_str().unwrap().contains("at most 4096"), "{body}");
    assert_eq!(std::fs::read_dir(state.join("plugins")).unwrap().count(), 0, "nothing kept");
}
