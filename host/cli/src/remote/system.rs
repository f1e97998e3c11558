//! The box as a whole: `status`, `flows ls`, `events`, `audit tail`,
//! `tls install`.

use super::client::Client;
use super::output::{cell, items, print, table, time};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

fn status_text(s: &Value) -> String {
    let c = &s["capabilities"];
    [
        format!("version:   {}", cell(&s["version"])),
        format!("uptime:    {} s", cell(&s["uptime_seconds"])),
        format!("clock:     {} (locked: {})", cell(&s["clock"]["source"]), cell(&s["clock"]["locked"])),
        format!(
            "hardware:  {} CPUs, {} NVIDIA GPUs, {} Vulkan drivers, {} RDMA devices, {} PTP clocks",
            cell(&c["cpus"]),
            cell(&c["nvidia_gpus"]),
            cell(&c["vulkan_drivers"]),
            cell(&c["rdma_devices"]),
            cell(&c["ptp_clocks"])
        ),
        format!("tls:       SHA-256 {}", cell(&s["tls"]["sha256"])),
    ]
    .join("\n")
}

/// `stagebox status`.
pub fn status(client: &Client, json: bool) -> Result<()> {
    print(json, &client.get("/api/v1/system")?, status_text);
    Ok(())
}

/// `stagebox health`: whether the box answers (no token needed).
pub fn health(client: &Client, json: bool) -> Result<()> {
    print(json, &client.get("/health")?, |h| format!("{}: {}", client.base(), cell(&h["status"])));
    Ok(())
}

/// `stagebox metrics`: the box's Prometheus text, as it is.
pub fn metrics(client: &Client) -> Result<()> {
    print!("{}", client.text("/metrics")?);
    Ok(())
}

/// `stagebox flows ...`.
#[derive(Subcommand)]
pub enum Flows {
    /// Every flow in the box's domain, with live statistics.
    Ls,
}

fn flow_rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "flows")
        .iter()
        .map(|f| {
            let fmt = &f["format"];
            let what = match fmt["kind"].as_str() {
                Some("video") => format!(
                    "{}x{} {} {}",
                    cell(&fmt["width"]),
                    cell(&fmt["height"]),
                    cell(&fmt["coding"]),
                    cell(&fmt["rate"])
                ),
                Some("data") => format!("{} {}", cell(&fmt["data"]), cell(&fmt["rate"])),
                _ => cell(&fmt["kind"]),
            };
            vec![
                cell(&f["label"]),
                what,
                if f["writer_active"] == true { "live".into() } else { "gone".into() },
                cell(&f["head_index"]),
                cell(&f["grains_behind"]),
                cell(&f["grains_written"]),
                cell(&f["grains_invalid"]),
                cell(&f["missed_by_readers"]),
            ]
        })
        .collect();
    table(&["LABEL", "FORMAT", "WRITER", "HEAD", "BEHIND", "WRITTEN", "INVALID", "MISSED"], &rows)
}

/// Runs a `flows` command.
pub fn flows(client: &Client, command: Flows, json: bool) -> Result<()> {
    match command {
        Flows::Ls => print(json, &client.get("/api/v1/flows")?, flow_rows),
    }
    Ok(())
}

/// `stagebox events`.
#[derive(Args)]
pub struct Events {
    /// Stop after this many events (default: until interrupted).
    #[arg(long)]
    pub count: Option<u64>,
}

fn event_line(e: &Value) -> String {
    let who = match (e["channel"].as_str(), e["node"].as_str(), e["data"]["output"].as_str()) {
        (Some(channel), _, Some(output)) => format!("{channel}/{output}"),
        (Some(channel), _, None) => channel.to_owned(),
        (None, Some(node), _) => format!("{}/{node}", cell(&e["pipeline"])),
        (None, None, _) => cell(&e["pipeline"]),
    };
    let d = &e["data"];
    let what = match e["kind"].as_str() {
        Some("scte35.decision") => format!(
            "{} {}",
            cell(&d["decision"]),
            d["splice_points"].as_array().map_or(0, Vec::len).to_string() + " splice points"
        ),
        Some("node.failed" | "node.bypassed") => format!("{}: {}", cell(&d["kind"]), cell(&d["error"])),
        Some("pipeline.updated") => format!("kept {}", cell(&d["kept"])),
        Some("channel.status") => format!(
            "on the {}, {} of {} outputs running",
            cell(&d["active"]),
            d["outputs"].as_array().map_or(0, |o| o.iter().filter(|o| o["state"] == "running").count()),
            d["outputs"].as_array().map_or(0, Vec::len)
        ),
        Some("channel.switched") => format!("to the {} ({})", cell(&d["to"]), cell(&d["reason"])),
        _ => String::new(),
    };
    format!("{}  {:<18} {who}  {what}", time(&e["at_ms"]), cell(&e["kind"])).trim_end().to_owned()
}

/// Follows the event stream, one line (or JSON object) per event.
pub fn events(client: &Client, args: Events, json: bool) -> Result<()> {
    let request = client.request(Method::GET, "/api/v1/events").timeout(Duration::from_secs(u64::from(u32::MAX)));
    let response = client.send(request)?;
    let mut seen = 0u64;
    for line in std::io::BufReader::new(response).lines() {
        if args.count.is_some_and(|n| seen >= n) {
            break;
        }
        let line = line.context("reading the event stream")?;
        let Some(data) = line.strip_prefix("data: ") else { continue };
        let event: Value = serde_json::from_str(data).context("an event that is not JSON")?;
        if json {
            println!("{data}");
        } else {
            println!("{}", event_line(&event));
        }
        seen += 1;
    }
    Ok(())
}

/// `stagebox audit ...`.
#[derive(Subcommand)]
pub enum Audit {
    /// The latest records, oldest first.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing new records as they come (every second).
        #[arg(short, long)]
        follow: bool,
    },
}

fn audit_rows(records: &[Value]) -> Vec<Vec<String>> {
    records
        .iter()
        .map(|r| {
            vec![
                cell(&r["seq"]),
                time(&r["at_ms"]),
                cell(&r["who"]),
                cell(&r["from"]),
                cell(&r["status"]),
                cell(&r["what"]),
            ]
        })
        .collect()
}

const AUDIT_HEADERS: [&str; 6] = ["SEQ", "TIME (UTC)", "WHO", "FROM", "STATUS", "WHAT"];

/// Runs an `audit` command.
pub fn audit(client: &Client, command: Audit, json: bool) -> Result<()> {
    let Audit::Tail { lines, follow } = command;
    // Pages of 1000 from the start to find the end (the API pages forward).
    let mut records: Vec<Value> = Vec::new();
    let mut after = 0u64;
    loop {
        let page = client.get(&format!("/api/v1/audit?after={after}&limit=1000"))?;
        let got = page["records"].as_array().cloned().unwrap_or_default();
        let Some(last) = got.last().and_then(|r| r["seq"].as_u64()) else { break };
        after = last;
        records.extend(got);
        if records.len() > lines {
            records.drain(..records.len() - lines);
        }
    }
    let show = |records: &[Value], header: bool| {
        if json {
            for r in records {
                println!("{r}");
            }
        } else if !records.is_empty() {
            let text = table(&AUDIT_HEADERS, &audit_rows(records));
            let text = if header { text.as_str() } else { text.split_once('\n').map_or("", |(_, rest)| rest) };
            println!("{text}");
        }
    };
    show(&records, true);
    if !follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let page = client.get(&format!("/api/v1/audit?after={after}&limit=1000"))?;
        let got = page["records"].as_array().cloned().unwrap_or_default();
        if let Some(last) = got.last().and_then(|r| r["seq"].as_u64()) {
            after = last;
        }
        show(&got, false);
    }
}

/// `stagebox tls ...`.
#[derive(Subcommand)]
pub enum Tls {
    /// Installs a certificate chain and its private key on the box; new
    /// connections get it at once. Log in again with --ca-file (or
    /// --fingerprint) afterwards.
    Install {
        /// The chain (PEM), the box's certificate first.
        #[arg(long)]
        cert: PathBuf,
        /// Its private key (PEM).
        #[arg(long)]
        key: PathBuf,
    },
}

/// Runs a `tls` command.
pub fn tls(client: &Client, command: Tls, json: bool) -> Result<()> {
    let Tls::Install { cert, key } = command;
    let read = |p: &PathBuf| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let body = json!({ "certificate": read(&cert)?, "private_key": read(&key)? });
    let answer = client.call(Method::PUT, "/api/v1/system/tls", Some(&body))?;
    print(json, &answer, |a| format!("installed; the box now presents SHA-256 {}", cell(&a["sha256"])));
    Ok(())
}
