//! `cargo xtask bench distributor`: the channel distributor against the
//! seed's design, side by side in one run, on loopback.
//!
//! - **Load.** 25 channels × 4 outputs of an 8 Mb/s transport stream (an
//!   ffmpeg encode, null-padded to 8 Mb/s), sent as RTP at its real rate.
//! - **Stagebox.** One `distribute` process runs all channels: as they
//!   come by default, and with the channel's `batch_ms` at 5 to 100 ms
//!   (packets gathered into one UDP GSO send per output).
//! - **Reference.** The seed's design: for every output one
//!   `ffmpeg -c copy` process reading the channel's RTP stream (the fan-out
//!   to each ffmpeg is given to it for free: the sender sends each output's
//!   copy itself).
//! - **Figures.** CPU-seconds (user + system, from /proc) per output-Mbit
//!   delivered, the packet loss at the receivers, and the capacity: the
//!   most channels × 4 outputs each design delivers with no loss.
//!
//! The sender and the receivers run in this process; their CPU is not
//! counted for either design.

#![allow(clippy::unwrap_used)]

use stagebox_media::rtp::{PT_MP2T, RtpHeader, write};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const RATE: u64 = 8_000_000;
const OUTPUTS: usize = 4;
const DATAGRAM: usize = 7 * 188;
/// Seconds of load per measurement.
const SECONDS: u64 = 8;

/// An 8 Mb/s TS (H.264 and AAC, null-padded by ffmpeg's muxer).
fn source(dir: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &(WARMUP + SECONDS + 2).to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-b:v", "4M", "-c:a", "aac"])
        .args(["-muxrate", &RATE.to_string(), "-f", "mpegts", "source.ts"])
        .output()
        .expect("ffmpeg must be installed (cargo xtask setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join("source.ts")).unwrap()
}

/// `n` distinct free UDP ports on loopback: bound together, so none
/// repeats, then let go for the processes that will bind them.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<UdpSocket> = (0..n).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    held.iter().map(|s| s.local_addr().unwrap().port()).collect()
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    ticks as f64 / rustix::param::clock_ticks_per_second() as f64
}

/// Bytes of the packets in `ts` that are not null packets: ffmpeg's muxer
/// drops the null padding, so loss is counted on what it must keep.
fn payload_bytes(ts: &[u8]) -> u64 {
    ts.chunks_exact(188).filter(|p| p[0] == 0x47 && (u16::from_be_bytes([p[1], p[2]]) & 0x1fff) != 0x1fff).count()
        as u64
        * 188
}

/// Receivers: one socket per output, all read by one thread until `stop`,
/// counting the bytes of non-null packets and noting when each datagram
/// arrived (to within the thread's 0.5 ms idle sleep).
struct Sinks {
    addresses: Vec<SocketAddr>,
    bytes: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Vec<Instant>>>>,
}

impl Sinks {
    fn new(count: usize) -> Sinks {
        let sockets: Vec<UdpSocket> = (0..count)
            .map(|_| {
                let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
                s.set_recv_buffer_size(4 << 20).unwrap();
                s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).unwrap();
                s.set_nonblocking(true).unwrap();
                s.into()
            })
            .collect();
        let addresses = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
        let bytes: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (bytes, stop) = (bytes.clone(), stop.clone());
            move || {
                let mut buf = [0u8; 2048];
                let mut arrivals = vec![Vec::new(); sockets.len()];
                while !stop.load(Ordering::Relaxed) {
                    let mut idle = true;
                    for (i, s) in sockets.iter().enumerate() {
                        while let Ok(n) = s.recv(&mut buf) {
                            arrivals[i].push(Instant::now());
                            bytes[i].fetch_add(payload_bytes(&buf[..n]), Ordering::Relaxed);
                            idle = false;
                        }
                    }
                    if idle {
                        std::thread::sleep(Duration::from_micros(500));
                    }
                }
                arrivals
            }
        });
        Sinks { addresses, bytes, stop, thread: Some(thread) }
    }

    fn total(&self) -> u64 {
        self.bytes.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Stops the receivers; gives each one's arrival times.
    fn finish(mut self) -> Vec<Vec<Instant>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().map(|t| t.join().unwrap()).unwrap_or_default()
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Seconds sent before measuring: ffmpeg probes its input first, and
/// everything settles.
const WARMUP: u64 = 2;

/// What the sender did.
struct Sent {
    /// Datagrams (per channel) sent before the measurement, and in all.
    range: (usize, usize),
    /// When each datagram went out (to the first channel).
    at: Vec<Instant>,
    /// How late the last datagram went out: a sender that could not
    /// keep pace loaded the design less than asked.
    behind: Duration,
}

/// Sends `ts` as RTP to every address of every channel, paced at RATE,
/// for WARMUP + SECONDS; `measure` is called when the warm-up ends and
/// gives the closure that ends the measurement (called after the last
/// datagram and a short drain).
fn send<M: FnOnce() -> E, E: FnOnce()>(ts: &[u8], targets: &[Vec<SocketAddr>], measure: M) -> Sent {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket2::SockRef::from(&socket).set_send_buffer_size(8 << 20).unwrap();
    let interval = Duration::from_secs_f64((DATAGRAM * 8) as f64 / RATE as f64);
    let warm = (WARMUP as f64 / interval.as_secs_f64()) as usize;
    let count = ((WARMUP + SECONDS) as f64 / interval.as_secs_f64()) as usize;
    let start = Instant::now();
    let mut measure = Some(measure);
    let mut end = None;
    let mut at = Vec::with_capacity(count);
    let mut behind = Duration::ZERO;
    for (i, chunk) in ts.chunks(DATAGRAM).take(count).enumerate() {
        if i == warm {
            end = measure.take().map(|m| m());
        }
        let due = start + interval * i as u32;
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => {
                behind = Duration::ZERO;
                std::thread::sleep(wait);
            }
            None => behind = due.elapsed(),
        }
        let header =
            RtpHeader { marker: false, payload_type: PT_MP2T, sequence: i as u16, timestamp: (i * 90) as u32, ssrc: 7 };
        let packet = write(&header, chunk);
        at.push(Instant::now());
        for to in targets.iter().flatten() {
            // A full socket buffer here would be the bench's own loss.
            while socket.send_to(&packet, to).is_err() {
                std::thread::yield_now();
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    if let Some(end) = end {
        end();
    }
    Sent { range: (warm, at.len()), at, behind }
}

/// The delay from sending each measured datagram to its arrival at every
/// receiver, in ms, sorted. Stagebox forwards datagram for datagram, so
/// with no loss a receiver's n-th datagram is the n-th sent.
fn delays(sent: &Sent, arrivals: &[Vec<Instant>]) -> Vec<f64> {
    let (from, to) = sent.range;
    let mut out: Vec<f64> = arrivals
        .iter()
        .flat_map(|a| {
            (from..to.min(a.len())).map(move |k| a[k].saturating_duration_since(sent.at[k]).as_secs_f64() * 1e3)
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

/// What one run measured.
struct Run {
    cpu_s: f64,
    /// Mbit handed to the outputs: input Mbit × outputs.
    handed_mbit: f64,
    /// Bytes of non-null packets that reached the receivers, and that
    /// should have.
    delivered: u64,
    expected: u64,
    /// How far behind its schedule the sender fell.
    behind: Duration,
    /// Send-to-receive delays, ms, sorted (Stagebox only).
    delays: Vec<f64>,
}

impl Run {
    /// A run whose measurement covered datagrams `from..to` of `ts`.
    fn new(cpu_s: f64, ts: &[u8], sent: &Sent, outputs: usize, delivered: u64) -> Run {
        let (from, to) = sent.range;
        let sent_bytes: Vec<u8> = ts.chunks(DATAGRAM).take(to).skip(from).flatten().copied().collect();
        Run {
            cpu_s,
            handed_mbit: (sent_bytes.len() * outputs) as f64 * 8.0 / 1e6,
            delivered,
            expected: payload_bytes(&sent_bytes) * outputs as u64,
            behind: sent.behind,
            delays: Vec::new(),
        }
    }
    fn cpu_ms_per_mbit(&self) -> f64 {
        1000.0 * self.cpu_s / self.handed_mbit.max(1e-9)
    }
    /// The share of what should have arrived that did not. `remux` is the
    /// share of non-null bytes a design sends out when nothing is lost (1
    /// for Stagebox, which forwards packets; less for ffmpeg, whose muxer
    /// packs the elementary streams anew).
    fn loss(&self, remux: f64) -> f64 {
        (1.0 - self.delivered as f64 / (self.expected as f64 * remux)).max(0.0)
    }
}

fn distribute_exe() -> std::path::PathBuf {
    // Benchmarks build in release; the binary is beside the bench's deps.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("distribute")
}

fn stagebox(dir: &Path, ts: &[u8], channels: usize, batch_ms: u64) -> Run {
    let sinks = Sinks::new(channels * OUTPUTS);
    let inputs = free_ports(channels);
    let spec: Vec<serde_json::Value> = (0..channels)
        .map(|c| {
            serde_json::json!({
                "name": format!("c{c}"),
                "inputs": [format!("rtp://127.0.0.1:{}", inputs[c])],
                "outputs": (0..OUTPUTS).map(|o| format!("udp://{}", sinks.addresses[c * OUTPUTS + o])).collect::<Vec<_>>(),
                "batch_ms": batch_ms,
            })
        })
        .collect();
    let file = dir.join("spec.json");
    std::fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let mut child = Command::new(distribute_exe())
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the distribute binary (cargo bench builds it)");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let targets: Vec<Vec<SocketAddr>> = inputs.iter().map(|p| vec![SocketAddr::from(([127, 0, 0, 1], *p))]).collect();
    let pid = child.id();
    let measured = std::cell::Cell::new((0.0, 0u64));
    let sent = send(ts, &targets, || {
        let (cpu, bytes) = (cpu_seconds(pid), sinks.total());
        let (measured, sinks) = (&measured, &sinks);
        move || measured.set((cpu_seconds(pid) - cpu, sinks.total() - bytes))
    });
    let (cpu_s, delivered) = measured.get();
    drop(child.stdin.take());
    let _ = child.wait();
    let mut run = Run::new(cpu_s, ts, &sent, channels * OUTPUTS, delivered);
    run.delays = delays(&sent, &sinks.finish());
    run
}

fn ffmpeg_per_output(ts: &[u8], channels: usize) -> Run {
    let sinks = Sinks::new(channels * OUTPUTS);
    let mut children: Vec<Child> = Vec::new();
    let mut targets = vec![Vec::new(); channels];
    let ports = free_ports(channels * OUTPUTS);
    for (c, target) in targets.iter_mut().enumerate() {
        for o in 0..OUTPUTS {
            let port = ports[c * OUTPUTS + o];
            let sink = sinks.addresses[c * OUTPUTS + o];
            let child = Command::new("ffmpeg")
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-nostdin",
                    "-probesize",
                    "200000",
                    "-analyzeduration",
                    "500000",
                ])
                .arg("-i")
                .arg(format!("rtp://127.0.0.1:{port}?buffer_size=4194304&fifo_size=100000"))
                .args(["-map", "0", "-c", "copy", "-f", "mpegts"])
                .arg(format!("udp://{sink}?pkt_size={DATAGRAM}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            children.push(child);
            target.push(SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }
    // Give every ffmpeg time to open its socket.
    std::thread::sleep(Duration::from_millis(500));
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let cpu = || pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    let measured = std::cell::Cell::new((0.0, 0u64));
    let sent = send(ts, &targets, || {
        let (before, bytes) = (cpu(), sinks.total());
        let (measured, cpu, sinks) = (&measured, &cpu, &sinks);
        move || measured.set((cpu() - before, sinks.total() - bytes))
    });
    let (cpu_s, delivered) = measured.get();
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    Run::new(cpu_s, ts, &sent, channels * OUTPUTS, delivered)
}

/// Loss below this counts as none for ffmpeg, whose loss is estimated
/// against its own remuxing ratio (timing moves a few packets across the
/// window's edges). Stagebox's loss is exact: its output is its input.
const FFMPEG_TOLERANCE: f64 = 0.005;

/// A sender that ends more than this far behind its schedule did not load
/// the design at the rate asked: the capacity search ends there.
const SENDER_SLACK: Duration = Duration::from_millis(50);

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ts = source(dir.path());
    // ffmpeg's remuxing ratio, from one channel on an idle box.
    let base = ffmpeg_per_output(&ts, 1);
    let remux = base.delivered as f64 / base.expected as f64;
    println!("# ffmpeg sends out {:.1}% of the non-null bytes it gets (its muxer repacks)", 100.0 * remux);
    let channels = 25;
    let label = format!("{channels}x{OUTPUTS}");
    let theirs = ffmpeg_per_output(&ts, channels);
    println!("# {label}: ffmpeg loss {:.2}%", 100.0 * theirs.loss(remux));
    for batch_ms in [0, 5, 20, 50, 100] {
        let ours = stagebox(dir.path(), &ts, channels, batch_ms);
        let suffix = if batch_ms == 0 { String::new() } else { format!("_batch{batch_ms}ms") };
        stagebox_bench::report(
            &format!("distributor_cpu_per_output_mbit_{label}{suffix}"),
            ours.cpu_ms_per_mbit(),
            "cpu-ms/Mbit",
            "ffmpeg_copy_per_output",
            theirs.cpu_ms_per_mbit(),
        );
        stagebox_bench::report(
            &format!("distributor_cpu_{label}{suffix}"),
            ours.cpu_s / SECONDS as f64,
            "cores",
            "ffmpeg_copy_per_output",
            theirs.cpu_s / SECONDS as f64,
        );
        let loss = ours.loss(1.0);
        // Delays pair datagrams by order, which loss would shift.
        let delay = |p| if loss == 0.0 { format!("{:.2} ms", percentile(&ours.delays, p)) } else { "n/a".into() };
        println!(
            "# {label} batch {batch_ms} ms: stagebox loss {:.4}%, send-to-receive delay p50 {}, p99 {}, max {}",
            100.0 * loss,
            delay(0.5),
            delay(0.99),
            delay(1.0),
        );
    }

    // Capacity: the most channels (of 4 outputs) each design delivers with
    // no loss. The sender and receivers share the box's two cores.
    let capacity = |run: &dyn Fn(usize) -> Run, steps: &[usize], who: &str, remux: f64, tolerance: f64| {
        let mut best = 0;
        for &n in steps {
            let r = run(n);
            let loss = r.loss(remux);
            println!(
                "# {who} {n}x{OUTPUTS}: loss {:.4}%, {:.2} cores, sender {:.0} ms behind at the end",
                100.0 * loss,
                r.cpu_s / SECONDS as f64,
                r.behind.as_secs_f64() * 1e3
            );
            if loss > tolerance {
                break;
            }
            if r.behind > SENDER_SLACK {
                println!("# the sender could not keep pace at {n}x{OUTPUTS}: {who} sustains at least {best}x{OUTPUTS}");
                break;
            }
            best = n;
        }
        best
    };
    let theirs = capacity(&|n| ffmpeg_per_output(&ts, n), &[5, 10, 25, 40, 60], "ffmpeg", remux, FFMPEG_TOLERANCE);
    for batch_ms in [0, 20] {
        let ours = capacity(
            &|n| stagebox(dir.path(), &ts, n, batch_ms),
            &[25, 50, 100, 150, 200, 300],
            &format!("stagebox batch {batch_ms} ms"),
            1.0,
            0.0,
        );
        let suffix = if batch_ms == 0 { String::new() } else { format!("_batch{batch_ms}ms") };
        stagebox_bench::report(
            &format!("distributor_capacity_outputs{suffix}"),
            (ours * OUTPUTS) as f64,
            "outputs",
            "ffmpeg_copy_per_output",
            (theirs * OUTPUTS).max(1) as f64,
        );
    }
}
