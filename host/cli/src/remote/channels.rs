//! `stagebox channels`: list, show, apply a JSON file (create or change
//! live), start, stop, remove, select the input, add and remove outputs,
//! list and post timeline markers.

use super::client::Client;
use super::lifecycle::{self, Kind, Lifecycle};
use super::output::{cell, items, print, table, time};
use anyhow::{Context, Result};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

/// `stagebox channels ...`.
#[derive(Subcommand)]
pub enum Command {
    /// List, show, apply a JSON file, start, stop, remove.
    #[command(flatten)]
    Common(Lifecycle),
    /// Makes an input active now (`backup` is then held until it fails).
    Select {
        /// The channel.
        name: String,
        /// `primary` or `backup`.
        #[arg(value_parser = ["primary", "backup"])]
        input: String,
    },
    /// Adds an output (live, if the channel runs).
    AddOutput {
        /// The channel.
        name: String,
        /// The output's name.
        id: String,
        /// Where it sends: udp://, rtp://, srt://, rtmp:// or hls://.
        url: String,
        /// Only these PIDs (comma-separated; PSI always goes).
        #[arg(long, value_delimiter = ',')]
        pids: Option<Vec<u16>>,
        /// The SCTE-35 plugin deciding this output's cues.
        #[arg(long)]
        scte35_plugin: Option<String>,
        /// Its configuration, as JSON.
        #[arg(long, requires = "scte35_plugin")]
        scte35_config: Option<String>,
    },
    /// Removes an output (live, if the channel runs).
    RmOutput {
        /// The channel.
        name: String,
        /// The output's name.
        id: String,
    },
    /// Lists a running channel's timeline markers.
    Markers {
        /// The channel.
        name: String,
    },
    /// Marks a running channel's stream (now, or at `--at-ms`).
    Mark {
        /// The channel.
        name: String,
        /// What the marker says.
        text: String,
        /// When, in ms since 1970 UTC (within an hour of now).
        #[arg(long)]
        at_ms: Option<i64>,
    },
}

fn marker_rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "markers")
        .iter()
        .map(|m| {
            let player = m["player_s"]
                .as_object()
                .map(|p| {
                    p.iter()
                        .map(|(output, s)| match s.as_f64() {
                            Some(s) => format!("{output} {s:.1} s"),
                            None => format!("{output} -"),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            vec![cell(&m["id"]), time(&m["at_ms"]), cell(&m["source"]), cell(&m["text"]), player]
        })
        .collect();
    table(&["ID", "AT", "SOURCE", "TEXT", "PLAYER TIME"], &rows)
}

/// Bits per second as people read them.
fn rate(v: &Value) -> String {
    match v.as_u64() {
        Some(b) if b >= 1_000_000 => format!("{:.1} Mb/s", b as f64 / 1e6),
        Some(b) if b >= 1_000 => format!("{:.0} kb/s", b as f64 / 1e3),
        Some(b) => format!("{b} b/s"),
        None => "-".into(),
    }
}

fn rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "channels")
        .iter()
        .map(|c| {
            let status = &c["status"];
            let active = if c["running"] == true { cell(&status["active"]) } else { "-".into() };
            let running = items(status, "outputs").iter().filter(|o| o["state"] == "running").count();
            vec![
                cell(&c["name"]),
                if c["running"] == true { "yes".into() } else { "no".into() },
                active,
                format!("{running}/{}", items(&c["spec"], "outputs").len()),
                rate(&status["inputs"][0]["bitrate_bps"]),
                cell(&c["description"]),
            ]
        })
        .collect();
    table(&["NAME", "RUNNING", "INPUT", "OUTPUTS", "BITRATE", "DESCRIPTION"], &rows)
}

fn details(c: &Value) -> String {
    let status = &c["status"];
    let mut out = format!(
        "{} ({}){}\n",
        cell(&c["name"]),
        if c["running"] == true { format!("running on the {}", cell(&status["active"])) } else { "stopped".into() },
        match status["last_switch"].as_object() {
            Some(s) => format!(
                ", last switch to the {} ({}) {:.0} s ago",
                cell(&s["to"]),
                cell(&s["reason"]),
                s["ago_s"].as_f64().unwrap_or(0.0)
            ),
            None => String::new(),
        }
    );
    let inputs: Vec<Vec<String>> = items(&c["spec"], "inputs")
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let s = &status["inputs"][i];
            vec![
                if i == 0 { "primary".into() } else { "backup".into() },
                cell(url),
                cell(&s["state"]),
                rate(&s["bitrate_bps"]),
                cell(&s["cc_errors"]),
                cell(&s["rtp"]["lost"]),
            ]
        })
        .collect();
    out.push_str(&table(&["INPUT", "URL", "STATE", "BITRATE", "CC ERRORS", "RTP LOST"], &inputs));
    out.push('\n');
    let outputs: Vec<Vec<String>> = items(&c["spec"], "outputs")
        .iter()
        .map(|o| {
            let s = items(status, "outputs").iter().find(|s| s["id"] == o["id"]).cloned().unwrap_or(Value::Null);
            vec![
                cell(&o["id"]),
                cell(&o["url"]),
                cell(&s["state"]),
                rate(&s["bitrate_bps"]),
                cell(&s["dropped"]),
                cell(&s["errors"]),
                cell(&s["last_error"]),
            ]
        })
        .collect();
    out.push_str(&table(&["OUTPUT", "URL", "STATE", "BITRATE", "DROPPED", "ERRORS", "LAST ERROR"], &outputs));
    out
}

const CHANNELS: Kind = Kind {
    collection: "/api/v1/channels",
    what: "channel",
    rows,
    details,
    started: |c| format!("started {}", cell(&c["name"])),
};

/// Runs a `channels` command.
pub fn run(client: &Client, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Common(command) => lifecycle::run(client, &CHANNELS, command, json)?,
        Command::Select { name, input } => {
            let c = client.call(
                Method::POST,
                &format!("/api/v1/channels/{name}/select"),
                Some(&json!({ "input": input })),
            )?;
            print(json, &c, |c| format!("{} selects its {input}", cell(&c["name"])));
        }
        Command::AddOutput { name, id, url, pids, scte35_plugin, scte35_config } => {
            let mut output = json!({ "id": id, "url": url });
            if let Some(pids) = pids {
                output["pids"] = json!(pids);
            }
            if let Some(plugin) = scte35_plugin {
                let config: Value = match scte35_config {
                    Some(text) => serde_json::from_str(&text).context("--scte35-config is not JSON")?,
                    None => Value::Null,
                };
                output["scte35"] = json!({ "plugin": plugin, "config": config });
            }
            let c = client.call(Method::POST, &format!("/api/v1/channels/{name}/outputs"), Some(&output))?;
            let live = if c["running"] == true { " live" } else { "" };
            print(json, &c, |c| format!("added{live} output {id} to {}", cell(&c["name"])));
        }
        Command::RmOutput { name, id } => {
            client.call(Method::DELETE, &format!("/api/v1/channels/{name}/outputs/{id}"), None)?;
            print(json, &json!({ "channel": name, "removed": id }), |_| format!("removed output {id} from {name}"));
        }
        Command::Markers { name } => {
            let v = client.call(Method::GET, &format!("/api/v1/channels/{name}/markers"), None)?;
            print(json, &v, marker_rows);
        }
        Command::Mark { name, text, at_ms } => {
            let mut body = json!({ "text": text });
            if let Some(at) = at_ms {
                body["at_ms"] = json!(at);
            }
            let m = client.call(Method::POST, &format!("/api/v1/channels/{name}/markers"), Some(&body))?;
            print(json, &m, |m| format!("marked {name} at {}: {}", cell(&m["at"]), cell(&m["text"])));
        }
    }
    Ok(())
}
