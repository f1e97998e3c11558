//! `distribute SPEC.json`: runs distributor channels outside the daemon,
//! for benchmarks and for trying URLs by hand. The file is a list of
//! channels: `[{"name": "a", "inputs": ["rtp://127.0.0.1:5000"],
//! "outputs": ["udp://127.0.0.1:6000", …], "batch_ms": 0}, …]` (`batch_ms`
//! is optional). It prints `ready` once
//! every channel runs, and stops when standard input closes.

use anyhow::{Context, Result};
use stagebox_io::failover::FailoverConfig;
use stagebox_io::output::{OutputConfig, OutputPlugins};
use stagebox_io::url::OutputUrl;
use stagebox_io::{Channel, ChannelConfig};
use std::io::Read;

#[derive(serde::Deserialize)]
struct Spec {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    #[serde(default)]
    batch_ms: u64,
}

fn main() -> Result<()> {
    let path = std::env::args().nth(1).context("usage: distribute SPEC.json")?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let specs: Vec<Spec> = serde_json::from_str(&text).with_context(|| format!("{path} is not a channel list"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut channels = Vec::new();
        for spec in specs {
            let outputs = spec
                .outputs
                .iter()
                .enumerate()
                .map(|(i, url)| {
                    Ok((
                        OutputConfig { id: format!("o{i}"), url: OutputUrl::parse(url)?, pids: None },
                        OutputPlugins::default(),
                    ))
                })
                .collect::<Result<Vec<_>, stagebox_io::url::UrlError>>()?;
            let config = ChannelConfig {
                name: spec.name.clone(),
                primary: spec.inputs.first().cloned().context("a channel needs an input")?,
                backup: spec.inputs.get(1).cloned(),
                merge: false,
                failover: FailoverConfig::default(),
                batch: std::time::Duration::from_millis(spec.batch_ms),
            };
            channels.push(Channel::start(config, outputs).await.with_context(|| format!("channel {}", spec.name))?);
        }
        println!("ready");
        // Until standard input closes.
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        for channel in &channels {
            let s = channel.status();
            let dropped: u64 = s.outputs.iter().map(|o| o.dropped).sum();
            eprintln!("{}: {} packets in, {} dropped", channel.name(), s.inputs[0].packets, dropped);
        }
        anyhow::Ok(())
    })
}
