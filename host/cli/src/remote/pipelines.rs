//! `stagebox pipelines`: list, show, apply a JSON file (create or change
//! live), start, stop, remove.

use super::client::Client;
use super::output::{cell, items, print, table};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;

/// `stagebox pipelines ...`.
#[derive(Subcommand)]
pub enum Command {
    /// Every pipeline, with its nodes' states.
    Ls,
    /// One pipeline: its nodes, their flows and live counters.
    Show {
        /// Its name.
        name: String,
    },
    /// Creates the pipeline a JSON file describes, or changes it (live,
    /// if it runs) when it exists.
    Apply {
        /// The file (`-`: standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Starts a pipeline (and at every start of the box from then on).
    Start {
        /// Its name.
        name: String,
    },
    /// Stops a pipeline.
    Stop {
        /// Its name.
        name: String,
    },
    /// Stops and deletes a pipeline.
    Rm {
        /// Its name.
        name: String,
    },
}

/// One line about a pipeline's nodes: how many run, and which do not.
fn nodes_summary(p: &Value) -> String {
    let Some(nodes) = p["nodes"].as_object() else { return "stopped".into() };
    let troubled: Vec<String> = nodes
        .iter()
        .filter(|(_, s)| s["state"] != "running")
        .map(|(id, s)| format!("{id}: {}", cell(&s["state"])))
        .collect();
    if troubled.is_empty() { format!("{} running", nodes.len()) } else { troubled.join(", ") }
}

fn rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "pipelines")
        .iter()
        .map(|p| {
            vec![
                cell(&p["name"]),
                if p["running"] == true { "yes".into() } else { "no".into() },
                if p["autostart"] == true { "yes".into() } else { "no".into() },
                nodes_summary(p),
                cell(&p["description"]),
            ]
        })
        .collect();
    table(&["NAME", "RUNNING", "AUTOSTART", "NODES", "DESCRIPTION"], &rows)
}

fn details(p: &Value) -> String {
    let mut out = format!(
        "{} ({}){}\n",
        cell(&p["name"]),
        if p["running"] == true { "running" } else { "stopped" },
        p["description"].as_str().filter(|d| !d.is_empty()).map(|d| format!(": {d}")).unwrap_or_default()
    );
    let nodes = items(&p["spec"], "nodes");
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap_or_default();
            let s = &p["nodes"][id];
            let what = match n["plugin"].as_str() {
                Some(plugin) => format!("{} ({plugin})", cell(&n["type"])),
                None => cell(&n["type"]),
            };
            vec![
                id.to_owned(),
                what,
                cell(&s["state"]),
                cell(&s["grains_out"]),
                cell(&s["failures"]),
                cell(&s["flow"]["label"]),
                cell(&s["last_error"]),
            ]
        })
        .collect();
    out.push_str(&table(&["NODE", "TYPE", "STATE", "GRAINS", "FAILURES", "FLOW", "LAST ERROR"], &rows));
    out
}

fn read_spec(file: &PathBuf) -> Result<Value> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading standard input")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// Runs a `pipelines` command.
pub fn run(client: &Client, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Ls => print(json, &client.get("/api/v1/pipelines")?, rows),
        Command::Show { name } => print(json, &client.get(&format!("/api/v1/pipelines/{name}"))?, details),
        Command::Apply { file } => {
            let spec = read_spec(&file)?;
            let Some(name) = spec["name"].as_str().filter(|n| !n.is_empty()) else {
                bail!("{}: the pipeline needs a \"name\"", file.display());
            };
            let exists = client.send(client.request(Method::GET, &format!("/api/v1/pipelines/{name}")));
            let (p, verb) = match exists {
                Ok(_) => (client.call(Method::PUT, &format!("/api/v1/pipelines/{name}"), Some(&spec))?, "changed"),
                Err(e) if e.to_string().starts_with("404 ") => {
                    (client.call(Method::POST, "/api/v1/pipelines", Some(&spec))?, "created")
                }
                Err(e) => return Err(e),
            };
            let live = if verb == "changed" && p["running"] == true { " live" } else { "" };
            print(json, &p, |p| format!("{verb}{live} {}", cell(&p["name"])));
        }
        Command::Start { name } => {
            let p = client.call(Method::POST, &format!("/api/v1/pipelines/{name}/start"), None)?;
            print(json, &p, |p| format!("started {}: {}", cell(&p["name"]), nodes_summary(p)));
        }
        Command::Stop { name } => {
            let p = client.call(Method::POST, &format!("/api/v1/pipelines/{name}/stop"), None)?;
            print(json, &p, |p| format!("stopped {}", cell(&p["name"])));
        }
        Command::Rm { name } => {
            client.call(Method::DELETE, &format!("/api/v1/pipelines/{name}"), None)?;
            print(json, &json!({ "deleted": name }), |_| format!("deleted {name}"));
        }
    }
    Ok(())
}
