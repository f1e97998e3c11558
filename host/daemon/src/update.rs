//! Firmware updates and reboots, through RAUC.
//!
//! - `POST /api/v1/system/update` (admin): the body is a signed RAUC bundle.
//!   It is streamed to `STATE/update/`, then `rauc install` checks its
//!   signature against the image's keyring and writes it to the slot not
//!   running; the slot boots next, on trial (see docs/appliance.md).
//! - `GET /api/v1/system/update` (viewer): the slots, which one runs, which
//!   one boots next, and what each holds (`rauc status`).
//! - `POST /api/v1/system/reboot` (admin): asks the system to reboot. The
//!   daemon may not reboot the machine itself (its unit denies it the
//!   system calls); it leaves a request that `stagebox-reboot.path`, a
//!   root unit of the image, acts on.
//!
//! The daemon runs unprivileged: `rauc install` talks to the RAUC service
//! over D-Bus, whose policy lets the `stagebox` user do exactly that.

use crate::api::{Caller, Problem, Shared, declared_length};
use crate::auth::Role;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The longest an install may take (a slot written under emulation
/// included) before it is reported as failed.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long `rauc status` may take.
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);
/// Every bundle is a SquashFS image first (its signature follows it).
const SQUASHFS_MAGIC: &[u8; 4] = b"hsqs";

/// `GET /api/v1/system/update` (viewer).
pub async fn status(State(state): State<Shared>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.require(Role::Viewer)?;
    if let Err(why) = available(&state.config.rauc) {
        return Ok(Json(json!({ "available": false, "reason": why })));
    }
    // A RAUC that cannot say where the slots are (no system configuration:
    // not the appliance image) cannot install either.
    match rauc_status(&state.config.rauc).await {
        Ok(report) => Ok(Json(report)),
        Err(why) => Ok(Json(json!({ "available": false, "reason": why }))),
    }
}

/// `POST /api/v1/system/update` (admin): install the bundle in the body.
pub async fn install(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, Problem> {
    caller.require(Role::Admin)?;
    let rauc = state.config.rauc.clone();
    available(&rauc).map_err(|why| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Updates unavailable", why))?;
    let limit = state.config.max_bundle_bytes;
    let too_large = |n: u64| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Bundle too large",
            format!("{n} bytes; this box takes at most {limit}"),
        )
    };
    let length = declared_length(&headers);
    if let Some(n) = length
        && n > limit
    {
        return Err(too_large(n));
    }
    let Ok(_installing) = state.update_installing.try_lock() else {
        return Err(Problem::new(StatusCode::CONFLICT, "Update in progress", "another bundle is being installed"));
    };
    let dir = state.config.state_dir.join("update");
    tokio::fs::create_dir_all(&dir).await.map_err(Problem::internal)?;
    let no_room = |n: u64, free: u64| {
        Problem::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "No room for the bundle",
            format!("{n} bytes; the state partition has {free} free"),
        )
    };
    if let (Some(n), Ok(stat)) = (length, rustix::fs::statvfs(&dir)) {
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        if n > free {
            return Err(no_room(n, free));
        }
    }
    let path = dir.join("bundle.raucb");
    // Whatever happens next, the bundle does not stay on the state partition.
    let _remove = RemoveOnDrop(path.clone());
    let size = receive(body, &path, limit).await.map_err(|e| match e {
        Receive::TooLarge(n) => too_large(n),
        Receive::NotABundle => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not a bundle",
            "the body is not a RAUC bundle (no SquashFS image at its start); build one with `cargo xtask image`",
        ),
        Receive::Body(e) => Problem::new(StatusCode::BAD_REQUEST, "Upload interrupted", e),
        Receive::NoRoom(n) => no_room(n, 0),
        Receive::Disk(e) => Problem::internal(format!("writing {}: {e}", path.display())),
    })?;
    tracing::info!("installing an update bundle of {size} bytes");
    let output = run(Command::new(&rauc).arg("install").arg(&path), INSTALL_TIMEOUT)
        .await
        .map_err(|e| Problem::internal(format!("running {} install: {e}", rauc.display())))?;
    if !output.success {
        let why = rauc_error(&output.text);
        tracing::warn!("update refused: {why}");
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Update refused", why));
    }
    tracing::info!("update installed; it runs after the next reboot");
    let report = rauc_status(&rauc).await.map_err(Problem::internal)?;
    Ok(Json(json!({ "installed": true, "reboot_required": true, "bytes": size, "status": report })))
}

/// `POST /api/v1/system/reboot` (admin).
pub async fn reboot(State(state): State<Shared>, caller: Caller) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.require(Role::Admin)?;
    let flag = &state.config.reboot_flag;
    let unavailable = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Reboot unavailable",
            format!(
                "{} cannot be written: rebooting through the API needs the appliance's stagebox-reboot.path unit",
                flag.display()
            ),
        )
    };
    if !flag.parent().is_some_and(Path::is_dir) {
        return Err(unavailable());
    }
    tokio::fs::write(flag, b"reboot requested through the API\n").await.map_err(|e| {
        tracing::error!("writing {}: {e}", flag.display());
        unavailable()
    })?;
    tracing::warn!("reboot requested through the API");
    Ok((StatusCode::ACCEPTED, Json(json!({ "rebooting": true }))))
}

/// Why updates cannot be installed here, if they cannot.
fn available(rauc: &Path) -> Result<(), String> {
    if rauc.is_file() {
        Ok(())
    } else {
        Err(format!("{} not found: updates are installed by RAUC on the appliance image", rauc.display()))
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.0) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("removing {}: {e}", self.0.display()),
        }
    }
}

enum Receive {
    TooLarge(u64),
    /// The body does not start as a bundle does.
    NotABundle,
    Body(String),
    /// The disk filled after this many bytes.
    NoRoom(u64),
    Disk(std::io::Error),
}

/// Streams the body to `path`, at most `limit` bytes; returns the size.
/// A body that does not start as a bundle does is refused at its first
/// bytes, before it fills the disk.
async fn receive(body: Body, path: &Path, limit: u64) -> Result<u64, Receive> {
    let mut file = tokio::fs::File::create(path).await.map_err(Receive::Disk)?;
    let mut stream = body.into_data_stream();
    let (mut size, mut head) = (0u64, Vec::with_capacity(SQUASHFS_MAGIC.len()));
    let disk = |size: u64| {
        move |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::StorageFull { Receive::NoRoom(size) } else { Receive::Disk(e) }
        }
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Receive::Body(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Receive::TooLarge(size));
        }
        if head.len() < SQUASHFS_MAGIC.len() {
            let wanted = SQUASHFS_MAGIC.len() - head.len();
            head.extend_from_slice(&chunk[..wanted.min(chunk.len())]);
            if !SQUASHFS_MAGIC.starts_with(&head) {
                return Err(Receive::NotABundle);
            }
        }
        file.write_all(&chunk).await.map_err(disk(size))?;
    }
    if head.len() < SQUASHFS_MAGIC.len() {
        return Err(Receive::NotABundle);
    }
    file.sync_all().await.map_err(disk(size))?;
    Ok(size)
}

struct Output {
    success: bool,
    /// stdout then stderr.
    text: String,
}

async fn run(command: &mut Command, timeout: Duration) -> std::io::Result<Output> {
    command.kill_on_drop(true).stdin(std::process::Stdio::null());
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer in {timeout:?}")))??;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(Output { success: output.status.success(), text })
}

/// Why RAUC refused: its `LastError` lines when it gave them, else the
/// last lines of its output without the progress chatter.
fn rauc_error(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let errors: Vec<&str> =
        lines.iter().filter_map(|l| l.split_once("LastError:").map(|(_, why)| why.trim())).collect();
    let why = if errors.is_empty() {
        let plain: Vec<&str> = lines.iter().copied().filter(|l| !l.contains('%')).collect();
        plain[plain.len().saturating_sub(4)..].join("; ")
    } else {
        errors.join("; ")
    };
    if why.is_empty() { "rauc install failed without saying why".to_owned() } else { why }
}

async fn rauc_status(rauc: &Path) -> Result<Value, String> {
    let output = run(Command::new(rauc).args(["status", "--detailed", "--output-format=json"]), STATUS_TIMEOUT)
        .await
        .map_err(|e| format!("running {} status: {e}", rauc.display()))?;
    if !output.success {
        return Err(format!("rauc status failed: {}", rauc_error(&output.text)));
    }
    let raw: Value = output
        .text
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("rauc status answered no JSON: {}", output.text.trim()))?;
    Ok(summarize(&raw))
}

/// RAUC's status, in the API's terms: slots by their boot names.
fn summarize(raw: &Value) -> Value {
    let mut slots = Vec::new();
    let mut primary = Value::Null;
    for item in raw["slots"].as_array().into_iter().flatten() {
        let Some((name, slot)) = item.as_object().and_then(|o| o.iter().next()) else { continue };
        if raw["boot_primary"].as_str() == Some(name.as_str()) {
            primary = slot["bootname"].clone();
        }
        let status = &slot["slot_status"];
        slots.push(json!({
            "name": name,
            "bootname": slot["bootname"],
            "device": slot["device"],
            "state": slot["state"],
            "boot_status": slot["boot_status"],
            "bundle_version": status["bundle"]["version"],
            "installed_at": status["installed"]["timestamp"],
        }));
    }
    json!({
        "available": true,
        "compatible": raw["compatible"],
        "booted": raw["booted"],
        "primary": primary,
        "slots": slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rauc_status_becomes_slots_by_boot_name() {
        let raw: Value = serde_json::from_str(
            r#"{"compatible":"stagebox-x86_64","variant":"","booted":"a","boot_primary":"rootfs.1",
            "slots":[{"rootfs.0":{"class":"rootfs","device":"/dev/disk/by-partlabel/root-a","type":"ext4",
            "bootname":"a","state":"booted","boot_status":"good","slot_status":{"status":"ok"}}},
            {"rootfs.1":{"class":"rootfs","device":"/dev/disk/by-partlabel/root-b","type":"ext4","bootname":"b",
            "state":"inactive","boot_status":"good","slot_status":{"bundle":{"compatible":"stagebox-x86_64",
            "version":"2"},"installed":{"timestamp":"2026-11-25T09:00:00Z","count":1},"status":"ok"}}}]}"#,
        )
        .expect("json");
        let summary = summarize(&raw);
        assert_eq!(summary["booted"], "a");
        assert_eq!(summary["primary"], "b");
        assert_eq!(summary["slots"][1]["bundle_version"], "2");
        assert_eq!(summary["slots"][1]["installed_at"], "2026-11-25T09:00:00Z");
        assert_eq!(summary["slots"][0]["bundle_version"], Value::Null);
    }

    #[test]
    fn rauc_errors_keep_the_reason_not_the_progress() {
        let text = "installing /var/lib/stagebox/update/bundle.raucb: installing\n  0% Installing\n  \
                    10% Checking bundle\n  20% Verifying signature failed.\n\
                    installing `/x`: LastError: signature verification failed: Verify error:unable to get local issuer certificate\n";
        let why = rauc_error(text);
        assert!(why.contains("signature verification failed"), "{why}");
        assert!(!why.contains("10%"), "{why}");
        assert_eq!(rauc_error(""), "rauc install failed without saying why");
    }
}
