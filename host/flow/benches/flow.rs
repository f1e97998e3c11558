//! Flow benchmarks: `cargo xtask bench flow`.
//!
//! Every figure is printed as one line,
//! `BENCH <name> <value> <unit> ref=<refname>:<refvalue> ratio=<value/refvalue>`,
//! with its reference measured in the same run:
//! - writes (grant, fill, commit) against a plain memcpy of the same bytes;
//! - zero-copy `get`+`check` against the same read plus libmxl's per-read
//!   `futimens` of the `access` file;
//! - a copy-out read against memcpy;
//! - cross-process wake latency (commit to reader awake) against a pipe wake.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::{best_of, report};
use stagebox_flow::*;
use std::hint::black_box;
use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const ROLE: &str = "STAGEBOX_BENCH_ROLE";
const WAKES: usize = 10_000;

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("flow-reader") => return wake_reader_child(),
        Ok("pipe-reader") => return pipe_reader_child(),
        _ => {}
    }
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let dir = tempfile::Builder::new().prefix("stagebox-bench-").tempdir_in(base).unwrap();
    let domain = Domain::open(dir.path()).unwrap();
    bench_writes(&domain, "1080p", 1920, 1080, 300);
    bench_writes(&domain, "2160p", 3840, 2160, 80);
    bench_reads(&domain);
    bench_wake(&domain);
}

fn video(label: &str, width: u32, height: u32) -> FlowDescriptor {
    let rate = Rational::new(50, 1).unwrap();
    let format = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, width, height, rate));
    FlowDescriptor::new(uuid::Uuid::new_v4(), label, format).unwrap()
}

fn bench_writes(domain: &Domain, label: &str, width: u32, height: u32, iterations: usize) {
    let desc = video(label, width, height);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let frame = pattern::v210_bars(width, height);
    let bytes = frame.len() as f64;
    // The reference writes into as many separate buffers as the ring has
    // grains, so both sides stream through the same amount of memory.
    let mut targets: Vec<Vec<u8>> = (0..writer.grain_count()).map(|_| vec![0u8; frame.len()]).collect();
    let mut n = 0usize;
    let memcpy = best_of(iterations, || {
        let slot = n % targets.len();
        let t = &mut targets[slot];
        t.copy_from_slice(black_box(&frame));
        black_box(t);
        n += 1;
    });
    let mut index = 1u64;
    let write = best_of(iterations, || {
        let mut grain = writer.grant(index).unwrap();
        grain.payload_mut().copy_from_slice(black_box(&frame));
        grain.commit().unwrap();
        index += 1;
    });
    report(&format!("flow_write_{label}_bandwidth"), bytes / write / 1e9, "GB/s", "memcpy", bytes / memcpy / 1e9);
    report(&format!("flow_write_{label}_rate"), 1.0 / write, "grains/s", "memcpy", 1.0 / memcpy);
}

fn bench_reads(domain: &Domain) {
    let desc = video("reads", 1920, 1080);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let frame = pattern::v210_bars(1920, 1080);
    let count = writer.grain_count();
    for i in 1..=count {
        let mut g = writer.grant(i).unwrap();
        g.payload_mut().copy_from_slice(&frame);
        g.commit().unwrap();
    }
    let reader = domain.open_discrete(desc.id()).unwrap();
    // Zero-copy: borrow, look at one byte, confirm not torn.
    let gets = 1_000_000;
    let mut i = 0u64;
    let get = best_of(gets, || {
        let view = reader.get(1 + i % count).unwrap();
        black_box(view.payload()[0]);
        view.check().unwrap();
        i += 1;
    });
    // libmxl touches `access` on every successful read: the same read plus
    // that system call.
    let access = std::fs::File::open(domain.root().join(format!("{}.mxl-flow/access", desc.id()))).unwrap();
    let times = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW },
        last_modification: rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
    };
    let mxl_style = best_of(gets / 10, || {
        let view = reader.get(1 + i % count).unwrap();
        black_box(view.payload()[0]);
        rustix::fs::futimens(&access, &times).unwrap();
        i += 1;
    });
    report("flow_read_zero_copy", 1.0 / get, "grains/s", "get_with_access_touch", 1.0 / mxl_style);

    // Copy out a whole 1080p grain and check it.
    let mut out = Vec::with_capacity(frame.len());
    let copy = best_of(200, || {
        reader.get(1 + i % count).unwrap().copy_into(&mut out).unwrap();
        black_box(&out);
        i += 1;
    });
    let mut targets: Vec<Vec<u8>> = vec![vec![0u8; frame.len()]; 2];
    let sources: Vec<Vec<u8>> = vec![frame.clone(); count as usize];
    let memcpy = best_of(200, || {
        targets[0].copy_from_slice(black_box(&sources[(i % count) as usize]));
        black_box(&targets[0]);
        i += 1;
    });
    let bytes = frame.len() as f64;
    report("flow_read_copy_1080p", bytes / copy / 1e9, "GB/s", "memcpy", bytes / memcpy / 1e9);
}

fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Writer here, reader in another process; the writer stamps each grain with
/// CLOCK_MONOTONIC just before commit, the reader subtracts on waking. The
/// writer paces grains 300 µs apart so that the reader is asleep on the
/// futex when each commit lands. The reference does the same through a pipe.
fn bench_wake(domain: &Domain) {
    let desc = video("wake", 64, 2);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .env(ROLE, "flow-reader")
        .arg(domain.root())
        .arg(desc.id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let mut child_out = std::io::BufReader::new(child.stdout.take().unwrap());
    child_out.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");
    for i in 1..=WAKES as u64 {
        std::thread::sleep(Duration::from_micros(300));
        let mut g = writer.grant(i).unwrap();
        g.payload_mut()[..8].copy_from_slice(&monotonic_ns().to_ne_bytes());
        g.commit().unwrap();
    }
    let mut result = String::new();
    child_out.read_line(&mut result).unwrap();
    child.wait().unwrap();
    let flow: Vec<f64> = result.split_whitespace().map(|v| v.parse().unwrap()).collect();

    let mut child =
        Command::new(&exe).env(ROLE, "pipe-reader").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for _ in 0..WAKES {
        std::thread::sleep(Duration::from_micros(300));
        stdin.write_all(&monotonic_ns().to_ne_bytes()).unwrap();
    }
    drop(stdin);
    let mut result = String::new();
    child.stdout.take().unwrap().read_to_string(&mut result).unwrap();
    child.wait().unwrap();
    let pipe: Vec<f64> = result.split_whitespace().map(|v| v.parse().unwrap()).collect();
    for (k, name) in ["p50", "p99", "p99.9"].iter().enumerate() {
        report(&format!("flow_wake_latency_{name}"), flow[k], "us", "pipe_wake", pipe[k]);
    }
}

fn summarize(mut latencies_us: Vec<f64>) -> String {
    latencies_us.sort_by(f64::total_cmp);
    format!(
        "{} {} {}",
        percentile(&latencies_us, 0.50),
        percentile(&latencies_us, 0.99),
        percentile(&latencies_us, 0.999)
    )
}

fn wake_reader_child() {
    let args: Vec<String> = std::env::args().collect();
    let domain = Domain::open(&args[1]).unwrap();
    let reader = domain.open_discrete(args[2].parse().unwrap()).unwrap();
    println!("ready");
    let mut latencies = Vec::with_capacity(WAKES);
    for i in 1..=WAKES as u64 {
        let view = reader.wait(i, Duration::from_secs(10)).unwrap();
        let woke = monotonic_ns();
        let sent = u64::from_ne_bytes(view.payload()[..8].try_into().unwrap());
        latencies.push(woke.saturating_sub(sent) as f64 / 1e3);
    }
    println!("{}", summarize(latencies));
}

fn pipe_reader_child() {
    let mut stdin = std::io::stdin().lock();
    let mut latencies = Vec::with_capacity(WAKES);
    let mut word = [0u8; 8];
    while stdin.read_exact(&mut word).is_ok() {
        let woke = monotonic_ns();
        latencies.push(woke.saturating_sub(u64::from_ne_bytes(word)) as f64 / 1e3);
    }
    println!("{}", summarize(latencies));
}
