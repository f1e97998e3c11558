//! The update API's side of firmware updates: who may install, what is
//! refused before RAUC sees it, what RAUC is handed, how its refusals are
//! reported, and that no bundle is left on the state partition.
//!
//! RAUC itself writes slots only on the appliance: here a stand-in script
//! takes its place, records what it was asked and answers as RAUC 1.8
//! does. The real RAUC, boot loader and rollback are tested under qemu by
//! `cargo xtask image-test` (images/update-test.sh).

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::Appliance;
use serde_json::{Value, json};
use std::path::Path;

/// A stand-in `rauc`: `install` keeps a copy of the bundle it was given and
/// fails when the bundle says so; `status` prints RAUC's JSON.
const STAND_IN: &str = r#"#!/bin/sh
log=$(dirname "$0")/calls
echo "$*" >> "$log"
case "$1" in
install)
    cp "$2" "$(dirname "$0")/installed.raucb"
    if grep -q unsigned "$2"; then
        echo "installing $2: LastError: signature verification failed: Verify error:self-signed certificate" >&2
        exit 1
    fi
    echo "installing $2: succeeded"
    ;;
status)
    cat <<'EOF'
{"compatible":"stagebox-x86_64","variant":"","booted":"a","boot_primary":"rootfs.1","slots":[{"rootfs.0":{"class":"rootfs","device":"/dev/disk/by-partlabel/root-a","type":"ext4","bootname":"a","state":"booted","boot_status":"good","slot_status":{"status":"ok"}}},{"rootfs.1":{"class":"rootfs","device":"/dev/disk/by-partlabel/root-b","type":"ext4","bootname":"b","state":"inactive","boot_status":"good","slot_status":{"bundle":{"compatible":"stagebox-x86_64","version":"2"},"installed":{"timestamp":"2026-11-25T09:00:00Z","count":1},"status":"ok"}}}]}
EOF
    ;;
*) exit 2 ;;
esac
"#;

struct Setup {
    _dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    run: std::path::PathBuf,
    config: std::path::PathBuf,
}

fn setup(with_rauc: bool, max_bundle_bytes: u64) -> Setup {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let rauc = bin.join("rauc");
    if with_rauc {
        std::fs::write(&rauc, STAND_IN).unwrap();
        std::fs::set_permissions(&rauc, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = dir.path().join("stageboxd.toml");
    std::fs::write(
        &config,
        format!(
            "rauc = {:?}\nmax_bundle_bytes = {max_bundle_bytes}\nreboot_flag = {:?}\n",
            rauc.display().to_string(),
            run.join("reboot").display().to_string()
        ),
    )
    .unwrap();
    Setup { _dir: dir, bin, run, config }
}

fn upload(a: &Appliance, token: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r =
        a.c.post(format!("{}/api/v1/system/update", a.daemon.url))
            .bearer_auth(token)
            .header("Content-Type", "application/octet-stream")
            .body(bytes)
            .send()
            .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn bundle(body: &str) -> Vec<u8> {
    let mut bytes = b"hsqs".to_vec();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn leftovers(state: &Path) -> Vec<String> {
    match std::fs::read_dir(state.join("update")) {
        Ok(dir) => dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_bundle_is_handed_to_rauc_and_its_refusals_are_reported() {
    let s = setup(true, 1 << 20);
    let a = Appliance::new(&[("STAGEBOX_CONFIG", s.config.to_str().unwrap())]);

    // The slots, as RAUC reports them.
    let status = a.ok("GET", "/api/v1/system/update", None);
    assert_eq!(status["available"], true);
    assert_eq!((status["booted"].as_str(), status["primary"].as_str()), (Some("a"), Some("b")));
    assert_eq!(status["slots"][1]["bundle_version"], "2");

    // Only an admin installs.
    a.ok("POST", "/api/v1/users", Some(json!({ "name": "watcher", "password": "correct horse 1", "role": "viewer" })));
    let (_, login) =
        a.call("POST", "/api/v1/login", Some(json!({ "username": "watcher", "password": "correct horse 1" })));
    let viewer = login["token"].as_str().unwrap().to_owned();
    assert_eq!(upload(&a, &viewer, bundle("signed")).0, 403);
    let (code, _) = a.call("POST", "/api/v1/system/reboot", None);
    assert_eq!(code, 202);
    let r = a.c.post(format!("{}/api/v1/system/reboot", a.daemon.url)).bearer_auth(&viewer).send().unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // Refused before RAUC sees them: not a bundle, too large.
    let (code, v) = upload(&a, &a.token, b"PK\x03\x04 a zip file".to_vec());
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["title"], "Not a bundle");
    for short in [&b""[..], b"hsq"] {
        let (code, v) = upload(&a, &a.token, short.to_vec());
        assert_eq!((code, v["title"].as_str()), (422, Some("Not a bundle")), "{short:?}: {v}");
    }
    let (code, v) = upload(&a, &a.token, vec![b'h'; (1 << 20) + 1]);
    assert_eq!(code, 413, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("at most 1048576"), "{v}");
    let calls = std::fs::read_to_string(s.bin.join("calls")).unwrap();
    assert!(!calls.contains("install"), "{calls}");

    // RAUC gets the bytes as sent, and its reason for a refusal comes back.
    let (code, v) = upload(&a, &a.token, bundle("unsigned payload"));
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["title"], "Update refused");
    assert_eq!(v["detail"], "signature verification failed: Verify error:self-signed certificate");
    let sent = bundle("a signed payload");
    let (code, v) = upload(&a, &a.token, sent.clone());
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["installed"].as_bool(), v["reboot_required"].as_bool()), (Some(true), Some(true)));
    assert_eq!(v["bytes"], sent.len());
    assert_eq!(v["status"]["primary"], "b");
    assert_eq!(std::fs::read(s.bin.join("installed.raucb")).unwrap(), sent);
    let calls = std::fs::read_to_string(s.bin.join("calls")).unwrap();
    let installs: Vec<&str> = calls.lines().filter(|l| l.starts_with("install ")).collect();
    assert_eq!(installs.len(), 2, "{calls}");
    assert!(installs[1].ends_with("/update/bundle.raucb"), "{calls}");
    // Nothing stays on the state partition, installed or refused.
    assert!(leftovers(&a.state).is_empty(), "{:?}", leftovers(&a.state));

    // The reboot request is left for the image's path unit.
    assert_eq!(std::fs::read_to_string(s.run.join("reboot")).unwrap(), "reboot requested through the API\n");
    // Both are in the audit log.
    let audit = a.ok("GET", "/api/v1/audit?limit=1000", None);
    let whats: Vec<&str> = audit["records"].as_array().unwrap().iter().filter_map(|r| r["what"].as_str()).collect();
    assert!(whats.contains(&"POST /api/v1/system/update"), "{whats:?}");
    assert!(whats.contains(&"POST /api/v1/system/reboot"), "{whats:?}");
}

#[test]
fn without_rauc_updates_and_reboots_say_why_they_are_unavailable() {
    let s = setup(false, 1 << 20);
    std::fs::remove_dir(&s.run).unwrap();
    let a = Appliance::new(&[("STAGEBOX_CONFIG", s.config.to_str().unwrap())]);
    let status = a.ok("GET", "/api/v1/system/update", None);
    assert_eq!(status["available"], false);
    assert!(status["reason"].as_str().unwrap().contains("not found"), "{status}");
    let (code, v) = upload(&a, &a.token, bundle("signed"));
    assert_eq!(code, 503, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("RAUC"), "{v}");
    let (code, v) = a.call("POST", "/api/v1/system/reboot", None);
    assert_eq!(code, 503, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("stagebox-reboot.path"), "{v}");
}
