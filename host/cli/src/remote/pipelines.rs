//! `stagebox pipelines`: list, show, apply a JSON file (create or change
//! live), start, stop, remove.

use super::client::Client;
use super::lifecycle::{self, Kind, Lifecycle};
use super::output::{cell, items, table};
use anyhow::Result;
use serde_json::Value;

/// `stagebox pipelines ...`: list, show, apply, start, stop, remove.
pub type Command = Lifecycle;

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

const PIPELINES: Kind = Kind {
    collection: "/api/v1/pipelines",
    what: "pipeline",
    rows,
    details,
    started: |p| format!("started {}: {}", cell(&p["name"]), nodes_summary(p)),
};

/// Runs a `pipelines` command.
pub fn run(client: &Client, command: Command, json: bool) -> Result<()> {
    lifecycle::run(client, &PIPELINES, command, json)
}
