//! Writes test-pattern v210 video into a flow at its real-time rate.
//!
//! `flow-write --domain DIR --id UUID [--width 1920 --height 1080 --rate 50/1 --count N|forever]`

use anyhow::{Context, Result, bail};
use clap::Parser;
use stagebox_flow::{
    Domain, FlowDescriptor, FlowFormat, Rational, SystemClock, TaiClock, VideoCoding, VideoFormat, current_index,
    index_to_timestamp, pattern,
};
use std::time::Duration;
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Write test-pattern v210 video into a shared-memory flow at its real-time rate")]
struct Args {
    /// Domain folder (created if missing), e.g. /dev/shm/stagebox/demo.
    #[arg(long)]
    domain: std::path::PathBuf,
    /// Flow id.
    #[arg(long)]
    id: Uuid,
    /// Width in pixels.
    #[arg(long, default_value_t = 1920)]
    width: u32,
    /// Height in lines.
    #[arg(long, default_value_t = 1080)]
    height: u32,
    /// Frame rate, N or N/D.
    #[arg(long, default_value = "50/1")]
    rate: Rational,
    /// Grains to write, or "forever".
    #[arg(long, default_value = "forever")]
    count: Count,
    /// Flow label.
    #[arg(long, default_value = "flow-write test pattern")]
    label: String,
}

#[derive(Clone, Copy)]
enum Count {
    Forever,
    Grains(u64),
}

impl std::str::FromStr for Count {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "forever" => Ok(Count::Forever),
            n => n.parse().map(Count::Grains).map_err(|_| format!("{s:?} is not a number or \"forever\"")),
        }
    }
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("flow-write: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<()> {
    let format = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, args.width, args.height, args.rate));
    let descriptor = FlowDescriptor::new(args.id, &args.label, format).context("invalid flow")?;
    let domain = Domain::open(&args.domain).with_context(|| format!("opening domain {}", args.domain.display()))?;
    let mut writer = domain.create_discrete(&descriptor).context("creating flow")?;
    let bars = pattern::v210_bars(args.width, args.height);
    if bars.len() != writer.grain_capacity() {
        bail!("pattern of {} B does not match grain of {} B", bars.len(), writer.grain_capacity());
    }
    let clock = SystemClock;
    let mut index = current_index(&clock, args.rate) + 1;
    let mut written = 0u64;
    eprintln!("flow-write: writing {} into {}", args.id, args.domain.display());
    loop {
        if let Count::Grains(n) = args.count
            && written >= n
        {
            break;
        }
        // Sleep until grain `index` is due, then write it.
        let due = index_to_timestamp(index, args.rate);
        let now = clock.now_tai_ns();
        if due > now {
            std::thread::sleep(Duration::from_nanos(due - now));
        }
        let mut grain = writer.grant(index)?;
        let payload = grain.payload_mut();
        payload.copy_from_slice(&bars);
        pattern::v210_mark_line(payload, args.width, (index % u64::from(args.height)) as u32);
        grain.commit()?;
        written += 1;
        // If we fell behind (descheduled), skip to now rather than burst.
        index = (index + 1).max(current_index(&clock, args.rate));
    }
    eprintln!("flow-write: wrote {written} grains");
    Ok(())
}
