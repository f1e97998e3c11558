//! Reads grains of a flow as they arrive and prints the latency of each.
//!
//! `flow-read --domain DIR --id UUID|LABEL [--count N]`

use anyhow::{Context, Result, bail};
use clap::Parser;
use stagebox_flow::{Domain, FlowError, ReadError, SystemClock, TaiClock};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Read grains from a shared-memory flow and print each one's latency")]
struct Args {
    /// Domain folder.
    #[arg(long)]
    domain: std::path::PathBuf,
    /// Flow id or label.
    #[arg(long)]
    id: String,
    /// Grains to read before exiting (default: until the writer goes).
    #[arg(long)]
    count: Option<u64>,
    /// How long to wait for the flow to appear and for each grain.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("flow-read: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let domain = Domain::open(&args.domain).with_context(|| format!("opening domain {}", args.domain.display()))?;
    let started = Instant::now();
    let entry = loop {
        match domain.find(&args.id) {
            Ok(entry) => break entry,
            Err(FlowError::NotFound { .. }) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e).context("finding flow"),
        }
    };
    let reader = domain.open_discrete(entry.descriptor.id()).context("opening flow")?;
    let clock = SystemClock;
    let mut next = reader.head_index() + 1;
    let mut read = 0u64;
    while args.count.is_none_or(|n| read < n) {
        match reader.wait(next, timeout) {
            Ok(view) => {
                let latency_ns = clock.now_tai_ns().saturating_sub(view.timestamp_tai_ns());
                let intact = view.check().is_ok();
                println!("grain {} latency_us {:.1} intact {intact}", view.index(), latency_ns as f64 / 1e3);
                read += 1;
                next += 1;
            }
            // A flow with no grain yet when we looked: start at its first.
            Err(ReadError::TooLate { head, .. }) if read == 0 => next = head,
            Err(ReadError::TooLate { head, .. }) => {
                println!("grain {next} missed (head {head})");
                next = head + 1;
            }
            Err(ReadError::TooEarly { .. }) => bail!("no grain {next} within {timeout:?}"),
            Err(e @ (ReadError::WriterGone | ReadError::FlowRemoved)) => {
                if args.count.is_none() {
                    eprintln!("flow-read: {e}; read {read} grains");
                    return Ok(());
                }
                return Err(e).context(format!("after {read} grains"));
            }
        }
    }
    Ok(())
}
