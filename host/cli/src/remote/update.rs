//! `stagebox update ...` and `stagebox reboot`: firmware updates through
//! the box's RAUC (docs/appliance.md, "Updating").

use super::client::Client;
use super::output::{cell, items, print, table};
use anyhow::{Context, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// `stagebox update ...`.
#[derive(Subcommand)]
pub enum Command {
    /// The root slots: which runs, which boots next, what each holds.
    Status,
    /// Uploads a signed update bundle (.raucb); the box writes it to the
    /// slot not running, which boots on trial after `stagebox reboot`.
    Install {
        /// The bundle.
        bundle: PathBuf,
    },
}

fn slots_text(s: &Value) -> String {
    if s["available"] != true {
        return format!("updates unavailable: {}", cell(&s["reason"]));
    }
    let rows: Vec<Vec<String>> = items(s, "slots")
        .iter()
        .map(|slot| {
            let mut marks = Vec::new();
            if slot["bootname"] == s["booted"] {
                marks.push("running");
            }
            if slot["bootname"] == s["primary"] {
                marks.push("boots next");
            }
            vec![
                cell(&slot["bootname"]),
                cell(&slot["boot_status"]),
                cell(&slot["bundle_version"]),
                cell(&slot["installed_at"]),
                marks.join(", "),
            ]
        })
        .collect();
    table(&["SLOT", "BOOT", "BUNDLE", "INSTALLED", ""], &rows)
}

/// Runs an `update` command.
pub fn update(client: &Client, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Status => print(json, &client.get("/api/v1/system/update")?, slots_text),
        Command::Install { bundle } => {
            let file = std::fs::File::open(&bundle).with_context(|| format!("opening {}", bundle.display()))?;
            let request = client
                .request(Method::POST, "/api/v1/system/update")
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                // Writing a slot takes minutes on slow disks.
                .timeout(Duration::from_secs(60 * 60))
                .body(file);
            let answer: Value = client.send(request)?.json().context("the box answered something that is not JSON")?;
            print(json, &answer, |a| {
                format!(
                    "installed; slot {} boots next, on trial, after `stagebox reboot`\n{}",
                    cell(&a["status"]["primary"]),
                    slots_text(&a["status"])
                )
            });
        }
    }
    Ok(())
}

/// `stagebox reboot`.
pub fn reboot(client: &Client, json: bool) -> Result<()> {
    let answer = client.call(Method::POST, "/api/v1/system/reboot", None)?;
    print(json, &answer, |_| "rebooting".to_owned());
    Ok(())
}
