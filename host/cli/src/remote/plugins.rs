//! `stagebox plugins`: list, show, upload (with a progress bar), remove,
//! enable, disable.

use super::client::Client;
use super::output::{cell, items, print, table};
use anyhow::{Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

/// `stagebox plugins ...`.
#[derive(Subcommand)]
pub enum Command {
    /// Every plugin, bundled and uploaded.
    Ls,
    /// One plugin: its manifest, capabilities and limits.
    Show {
        /// Its hash (a unique prefix will do).
        hash: String,
    },
    /// Uploads a component with its manifest (and signature). It starts
    /// disabled.
    Upload {
        /// The component (`.wasm`).
        component: PathBuf,
        /// Its manifest (TOML).
        #[arg(long)]
        manifest: PathBuf,
        /// A file holding the ed25519 signature (128 hex digits).
        #[arg(long)]
        signature: Option<PathBuf>,
    },
    /// Deletes an uploaded plugin.
    Rm {
        /// Its hash (a unique prefix will do).
        hash: String,
    },
    /// Enables a plugin (granting the capabilities its manifest asks for).
    Enable {
        /// Its hash (a unique prefix will do).
        hash: String,
    },
    /// Disables a plugin.
    Disable {
        /// Its hash (a unique prefix will do).
        hash: String,
    },
}

fn rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "plugins")
        .iter()
        .map(|p| {
            vec![
                cell(&p["name"]),
                cell(&p["version"]),
                cell(&p["world"]),
                if p["enabled"] == true { "yes".into() } else { "no".into() },
                if p["bundled"] == true { "bundled".into() } else { cell(&p["signed_by"]).replace('-', "unsigned") },
                cell(&p["hash"]).chars().take(16).collect(),
            ]
        })
        .collect();
    table(&["NAME", "VERSION", "WORLD", "ENABLED", "FROM", "HASH"], &rows)
}

fn details(p: &Value) -> String {
    let caps: Vec<String> = p["capabilities"].as_array().map_or_else(Vec::new, |a| a.iter().map(cell).collect());
    [
        format!("name:         {} {}", cell(&p["name"]), cell(&p["version"])),
        format!("world:        {}", cell(&p["world"])),
        format!("description:  {}", cell(&p["description"])),
        format!("capabilities: {}", if caps.is_empty() { "none".into() } else { caps.join(", ") }),
        format!(
            "limits:       {} MiB memory, {} of a frame per call",
            p["limits"]["memory_bytes"].as_u64().unwrap_or(0) >> 20,
            cell(&p["limits"]["deadline_fraction"])
        ),
        format!("enabled:      {}", cell(&p["enabled"])),
        format!("bundled:      {}", cell(&p["bundled"])),
        format!("signed by:    {}", cell(&p["signed_by"])),
        format!("hash:         {}", cell(&p["hash"])),
    ]
    .join("\n")
}

/// The full hash a unique prefix names.
fn full_hash(client: &Client, prefix: &str) -> Result<String> {
    let all = client.get("/api/v1/plugins")?;
    let matches: Vec<&str> =
        items(&all, "plugins").iter().filter_map(|p| p["hash"].as_str()).filter(|h| h.starts_with(prefix)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => anyhow::bail!("no plugin's hash starts with {prefix:?}"),
        _ => anyhow::bail!("{prefix:?} names {} plugins: give more of the hash", matches.len()),
    }
}

/// Reads a file, counting bytes into a progress bar.
struct Counting<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn upload(client: &Client, component: &PathBuf, manifest: &PathBuf, signature: Option<&PathBuf>) -> Result<Value> {
    let manifest = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let file = std::fs::File::open(component).with_context(|| format!("reading {}", component.display()))?;
    let len = file.metadata()?.len();
    // Drawn only on a terminal (stderr).
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("uploading");
    let name = component.file_name().map_or_else(|| "plugin.wasm".into(), |n| n.to_string_lossy().into_owned());
    let body = Part::reader_with_length(Counting { inner: file, bar: bar.clone() }, len).file_name(name);
    let mut form = Form::new().text("manifest", manifest).part("component", body);
    if let Some(path) = signature {
        let hex = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        form = form.text("signature", hex.trim().to_owned());
    }
    let request = client.request(Method::POST, "/api/v1/plugins").multipart(form).timeout(Duration::from_secs(600));
    let result = client.send(request);
    bar.finish_and_clear();
    Ok(result?.json()?)
}

fn switch(client: &Client, hash: &str, verb: &str, json: bool) -> Result<()> {
    let hash = full_hash(client, hash)?;
    let p = client.call(Method::POST, &format!("/api/v1/plugins/{hash}/{verb}"), None)?;
    print(json, &p, |p| format!("{verb}d {}", cell(&p["name"])));
    Ok(())
}

/// Runs a `plugins` command.
pub fn run(client: &Client, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Ls => print(json, &client.get("/api/v1/plugins")?, rows),
        Command::Show { hash } => {
            let hash = full_hash(client, &hash)?;
            print(json, &client.get(&format!("/api/v1/plugins/{hash}"))?, details);
        }
        Command::Upload { component, manifest, signature } => {
            let p = upload(client, &component, &manifest, signature.as_ref())?;
            print(json, &p, |p| {
                format!(
                    "uploaded {} {} ({}), disabled; hash {}",
                    cell(&p["name"]),
                    cell(&p["version"]),
                    cell(&p["world"]),
                    cell(&p["hash"])
                )
            });
        }
        Command::Rm { hash } => {
            let hash = full_hash(client, &hash)?;
            client.call(Method::DELETE, &format!("/api/v1/plugins/{hash}"), None)?;
            print(json, &serde_json::json!({ "deleted": hash }), |_| format!("deleted {hash}"));
        }
        Command::Enable { hash } => switch(client, &hash, "enable", json)?,
        Command::Disable { hash } => switch(client, &hash, "disable", json)?,
    }
    Ok(())
}
