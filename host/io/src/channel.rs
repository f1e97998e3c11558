//! A distributor channel: one or two inputs, failover (or a ST 2022-7
//! merge) between them, and any number of outputs that can be added and
//! removed while it runs. One tokio task per channel moves every packet:
//! no copies beyond the one into each output's datagram, no transcoding.

use crate::IoError;
use crate::cue::{CueContext, CueDecision, CueFilter, CueOutcome};
use crate::failover::{Failover, FailoverConfig, Source, Switch};
use crate::input::{Input, MERGE_WINDOW, bind};
use crate::output::hls::PlaylistCue;
use crate::output::{HlsStream, Output, OutputConfig, OutputPlugins};
use crate::status::{ChannelStatus, CueStatus, SwitchStatus};
use crate::url::InputUrl;
use stagebox_media::rtp::Reorder;
use stagebox_media::ts::{ContinuityCheck, PACKET_SIZE, Pmt, ProgramWatch, Restamper, SectionPacketizer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How a channel receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// The channel's name (logs, status, the SCTE-35 plugin's context).
    pub name: String,
    /// The primary input URL.
    pub primary: String,
    /// The backup input URL, if any.
    pub backup: Option<String>,
    /// Merge the two RTP inputs by sequence number (SMPTE ST 2022-7)
    /// instead of failing over between them.
    pub merge: bool,
    /// Failover timings.
    pub failover: FailoverConfig,
    /// Zero: packets go out as soon as they arrive. Otherwise the channel
    /// reads its inputs once per this interval and hands each UDP or RTP
    /// output everything that came in one UDP GSO send, trading this much
    /// latency (and as much precision in failover timing) for several
    /// times less CPU.
    pub batch: Duration,
}

/// The longest batch interval a channel takes.
pub const MAX_BATCH: Duration = Duration::from_millis(100);

/// Datagrams read from one socket before the task looks at anything else.
const BATCH: usize = 64;

/// Reads of [`BATCH`] datagrams a batch interval makes at most, per input
/// (4,096 datagrams: 2.7 Gb/s in 20 ms intervals); what is left waits for
/// the next interval in the socket's buffer.
const BATCH_ROUNDS: usize = 64;

/// Packets of a SCTE-35 PID held while a section is incomplete; more means
/// it is not a section stream at all, and they go out as they are.
const MAX_HELD: usize = 64;

enum Command {
    Add(Box<Output>, Option<Box<dyn CueFilter>>, oneshot::Sender<Result<(), IoError>>),
    Remove(String, oneshot::Sender<Result<(), IoError>>),
    Select(Source),
}

/// Adds `output`'s HLS streams to `map`; a name already there is refused
/// (a rendition `web-720p` beside an output named so).
fn add_streams(
    map: &mut BTreeMap<String, (String, Arc<HlsStream>)>,
    output: &OutputConfig,
    streams: &[(String, Arc<HlsStream>)],
) -> Result<(), IoError> {
    for (name, stream) in streams {
        if map.contains_key(name) {
            return Err(IoError::Config(format!("output {:?}: an HLS stream is already named {name:?}", output.id)));
        }
        map.insert(name.clone(), (output.id.clone(), stream.clone()));
    }
    Ok(())
}

/// A running channel. Dropping it stops the channel's task.
pub struct Channel {
    name: String,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<ChannelStatus>,
    addresses: Vec<SocketAddr>,
    /// The HLS outputs' streams by name (an output's name, or
    /// `OUTPUT-RENDITION` for a ladder's), each with its output's name, for
    /// the server to read.
    hls: std::sync::Mutex<BTreeMap<String, (String, Arc<HlsStream>)>>,
    task: JoinHandle<()>,
}

impl Channel {
    /// Binds the inputs, opens the outputs and starts the channel's task.
    pub async fn start(config: ChannelConfig, outputs: Vec<(OutputConfig, OutputPlugins)>) -> Result<Channel, IoError> {
        let primary_url = InputUrl::parse(&config.primary)?;
        let backup_url = config.backup.as_deref().map(InputUrl::parse).transpose()?;
        if config.batch > MAX_BATCH {
            return Err(IoError::Config(format!("the batch interval is at most {} ms", MAX_BATCH.as_millis())));
        }
        // Inputs are heard once a batch: a shorter detection time would find
        // a healthy input silent at every batch.
        if !config.batch.is_zero() && config.failover.detect <= config.batch * 2 {
            return Err(IoError::Config("the detection time must be more than twice the batch interval".into()));
        }
        if config.merge && !(primary_url.rtp && backup_url.as_ref().is_some_and(|b| b.rtp)) {
            return Err(IoError::Config("a 2022-7 merge needs two rtp:// inputs".into()));
        }
        let mut sockets = vec![bind(&primary_url)?];
        let mut inputs = vec![Input::new(Source::Primary, &config.primary, &primary_url, config.merge)];
        if let (Some(url), Some(text)) = (&backup_url, &config.backup) {
            sockets.push(bind(url)?);
            inputs.push(Input::new(Source::Backup, text, url, config.merge));
        }
        let addresses = sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
        let sockets = if config.batch.is_zero() {
            let watched = sockets.into_iter().map(|s| {
                let address = s.local_addr().ok();
                UdpSocket::from_std(s)
                    .map_err(|e| IoError::Socket { what: format!("the input socket on {address:?}"), source: e })
            });
            Sockets::Watched(watched.collect::<Result<_, _>>()?)
        } else {
            Sockets::Polled(sockets)
        };
        let mut slots = Vec::new();
        for (output, plugins) in outputs {
            if slots.iter().any(|s: &Slot| s.output.config().id == output.id) {
                return Err(IoError::Config(format!("two outputs are named {:?}", output.id)));
            }
            let cues = plugins.cues;
            let plugins = OutputPlugins { cues: None, ..plugins };
            slots.push(Slot::new(Output::open(output, plugins).await?, cues));
        }
        let mut hls = BTreeMap::new();
        for slot in &slots {
            add_streams(&mut hls, slot.output.config(), slot.output.hls())?;
        }
        let mut engine = Engine {
            name: config.name.clone(),
            failover: Failover::new(config.failover),
            merged: config.merge.then(|| Reorder::new(MERGE_WINDOW)),
            inputs,
            slots,
            restamper: Restamper::new(),
            watch: ProgramWatch::new(),
            held: BTreeMap::new(),
            switches: 0,
            last_switch: None,
            cues: CueStatus::default(),
        };
        let (status_tx, status) = watch::channel(engine.status(Instant::now()));
        let (commands, rx) = mpsc::channel(16);
        let task = tokio::spawn(run(engine, sockets, config.batch, rx, status_tx));
        Ok(Channel { name: config.name, commands, status, addresses, hls: std::sync::Mutex::new(hls), task })
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The addresses the inputs are bound to, primary first (the port an
    /// input URL with port 0 was given).
    pub fn input_addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// Adds an output while the channel runs; the others are not touched.
    pub async fn add_output(&self, config: OutputConfig, plugins: OutputPlugins) -> Result<(), IoError> {
        let cues = plugins.cues;
        let output = Output::open(config, OutputPlugins { cues: None, ..plugins }).await?;
        let mut hls = self.hls_streams().clone();
        add_streams(&mut hls, output.config(), output.hls())?;
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Add(Box::new(output), cues, tx)).await.map_err(|_| IoError::Stopped)?;
        rx.await.map_err(|_| IoError::Stopped)??;
        *self.hls_streams() = hls;
        Ok(())
    }

    /// Removes an output while the channel runs.
    pub async fn remove_output(&self, id: &str) -> Result<(), IoError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Remove(id.to_owned(), tx)).await.map_err(|_| IoError::Stopped)?;
        rx.await.map_err(|_| IoError::Stopped)??;
        self.hls_streams().retain(|_, (owner, _)| owner != id);
        Ok(())
    }

    fn hls_streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, Arc<HlsStream>)>> {
        self.hls.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The HLS stream named `name` (an output's, or a ladder rendition's
    /// `OUTPUT-RENDITION`).
    pub fn hls(&self, name: &str) -> Option<Arc<HlsStream>> {
        self.hls_streams().get(name).map(|(_, s)| s.clone())
    }

    /// Every HLS stream, by name.
    pub fn hls_all(&self) -> Vec<(String, Arc<HlsStream>)> {
        self.hls_streams().iter().map(|(name, (_, s))| (name.clone(), s.clone())).collect()
    }

    /// Makes `source` the active input now (see [`Failover::select`]).
    pub async fn select(&self, source: Source) -> Result<(), IoError> {
        self.commands.send(Command::Select(source)).await.map_err(|_| IoError::Stopped)
    }

    /// The status as of the last update (at most 500 ms old; a change of
    /// outputs or input shows at once).
    pub fn status(&self) -> ChannelStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status update.
    pub fn subscribe(&self) -> watch::Receiver<ChannelStatus> {
        self.status.clone()
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One output and what the channel keeps for it.
struct Slot {
    output: Output,
    cues: Option<Box<dyn CueFilter>>,
    /// Keeps SCTE-35 PIDs continuous after a drop or rewrite.
    restamper: Restamper,
    check: ContinuityCheck,
    /// A PID-filtered output's own PMTs, by PID.
    pmts: BTreeMap<u16, SectionPacketizer>,
}

impl Slot {
    fn new(output: Output, cues: Option<Box<dyn CueFilter>>) -> Slot {
        Slot { output, cues, restamper: Restamper::new(), check: ContinuityCheck::new(), pmts: BTreeMap::new() }
    }

    fn push(&mut self, packet: &[u8; PACKET_SIZE]) {
        if self.check.check(packet) == stagebox_media::ts::Continuity::Gap {
            self.output.counters().cc_error();
        }
        self.output.push(packet);
    }

    /// Passes on a packet of the PMT on `pid`. An output that keeps every
    /// PID sends the packet as it is. A PID-filtered one sends its own PMT
    /// instead, each time the source's is complete (`pmt`): the same
    /// program, version and descriptors, listing only the streams it
    /// keeps (the PCR's PID always goes out: decoders need the clock).
    fn push_pmt(&mut self, pid: u16, packet: &[u8; PACKET_SIZE], pmt: Option<&Pmt>) {
        let Some(keep) = &self.output.config().pids else {
            self.push(packet);
            return;
        };
        let Some(pmt) = pmt else { return };
        let mut own = pmt.clone();
        own.streams.retain(|s| keep.contains(&s.pid));
        let packets = self.pmts.entry(pid).or_insert_with(|| SectionPacketizer::new(pid, 0)).packets(&own.to_section());
        for packet in &packets {
            self.push(packet);
        }
    }
}

struct Engine {
    name: String,
    failover: Failover,
    /// The shared window of a 2022-7 merge.
    merged: Option<Reorder>,
    inputs: Vec<Input>,
    slots: Vec<Slot>,
    restamper: Restamper,
    watch: ProgramWatch,
    /// SCTE-35 packets waiting for their section to complete, by PID.
    held: BTreeMap<u16, Vec<[u8; PACKET_SIZE]>>,
    switches: u64,
    last_switch: Option<(Switch, Instant)>,
    cues: CueStatus,
}

/// A channel's input sockets.
enum Sockets {
    /// Watched by the runtime's reactor: a datagram wakes the channel.
    Watched(Vec<UdpSocket>),
    /// Kept from the reactor and read once per batch interval (a batched
    /// channel), so that arriving datagrams wake nothing.
    Polled(Vec<std::net::UdpSocket>),
}

/// Waits until input `index` is readable; never, for an input that is not
/// there or not watched.
async fn readable(sockets: &Sockets, index: usize) -> std::io::Result<()> {
    match sockets {
        Sockets::Watched(watched) if index < watched.len() => watched[index].readable().await,
        _ => std::future::pending().await,
    }
}

async fn run(
    mut engine: Engine,
    sockets: Sockets,
    batch: Duration,
    mut commands: mpsc::Receiver<Command>,
    status: watch::Sender<ChannelStatus>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batches = tokio::time::interval_at(first_tick(batch), batch.max(Duration::from_millis(1)));
    batches.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut datagram = vec![0u8; 65536];
    let mut packets = Vec::with_capacity(BATCH * 7 * PACKET_SIZE);
    loop {
        let now = Instant::now();
        // A merge never switches, so has no deadline.
        let deadline = engine
            .merged
            .is_none()
            .then(|| engine.failover.deadline(now))
            .flatten()
            .map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = batches.tick(), if matches!(sockets, Sockets::Polled(_)) => {
                if let Sockets::Polled(polled) = &sockets {
                    for (index, socket) in polled.iter().enumerate() {
                        for _ in 0..BATCH_ROUNDS {
                            if !engine.drain(index, |b| socket.recv(b), &mut datagram, &mut packets) {
                                break;
                            }
                        }
                    }
                }
            }
            ready = readable(&sockets, 0) => {
                if let (Ok(()), Sockets::Watched(watched)) = (ready, &sockets) {
                    engine.drain(0, |b| watched[0].try_recv(b), &mut datagram, &mut packets);
                }
            }
            ready = readable(&sockets, 1) => {
                if let (Ok(()), Sockets::Watched(watched)) = (ready, &sockets) {
                    engine.drain(1, |b| watched[1].try_recv(b), &mut datagram, &mut packets);
                }
            }
            () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                let now = Instant::now();
                if let Some(switch) = engine.failover.poll(now) {
                    engine.switched(switch, now, &mut packets);
                }
            }
            command = commands.recv() => match command {
                Some(command) => engine.command(command, &status),
                None => break,
            },
            _ = ticker.tick() => {
                status.send_replace(engine.status(Instant::now()));
            }
        }
    }
}

/// The first tick of a batch interval: on a grid shared by every channel
/// of the process, so that channels with the same interval are served in
/// one wake-up of the runtime rather than each in its own.
fn first_tick(batch: Duration) -> tokio::time::Instant {
    static EPOCH: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(tokio::time::Instant::now);
    let now = tokio::time::Instant::now();
    let step = batch.as_nanos().max(1);
    let ticks = now.saturating_duration_since(epoch).as_nanos().div_ceil(step);
    epoch + Duration::from_nanos(u64::try_from(ticks * step).unwrap_or(u64::MAX))
}

impl Engine {
    /// Reads what one socket has, up to [`BATCH`] datagrams, and sends it
    /// on; returns whether it read that many (and more may wait).
    fn drain(
        &mut self,
        index: usize,
        recv: impl Fn(&mut [u8]) -> std::io::Result<usize>,
        datagram: &mut [u8],
        packets: &mut Vec<u8>,
    ) -> bool {
        let source = self.inputs[index].role;
        let mut received = 0;
        let now = Instant::now();
        for _ in 0..BATCH {
            let n = match recv(datagram) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(channel = %self.name, error = %e, "input receive failed");
                    break;
                }
            };
            if received == 0 && !self.failover.alive(source, now) {
                // Back from a silence: what waited behind a gap before it
                // goes first (out, if this input is the one going out),
                // then the window starts afresh.
                self.inputs[index].flush(packets);
                self.inputs[index].restart();
            }
            received += 1;
            self.inputs[index].receive(&datagram[..n], now, self.merged.as_mut(), packets);
        }
        if received == 0 {
            return false;
        }
        if self.merged.is_some() {
            // Both inputs feed one window: whatever comes out goes out.
            self.failover.heard(source, now);
            self.emit(packets);
        } else {
            let (forward, switch) = self.failover.packet(source, now);
            if let Some(switch) = switch {
                self.switched(switch, now, &mut Vec::new());
            }
            if forward {
                self.emit(packets);
            }
        }
        packets.clear();
        self.flush_outputs();
        received == BATCH
    }

    fn switched(&mut self, switch: Switch, now: Instant, scratch: &mut Vec<u8>) {
        // What the old source's window still holds came before its gap.
        if let Some(old) = self.inputs.iter_mut().find(|i| i.role == switch.to.other()) {
            scratch.clear();
            old.flush(scratch);
            self.emit(scratch);
            scratch.clear();
        }
        self.restamper.switch();
        self.switches += 1;
        self.last_switch = Some((switch, now));
        self.flush_outputs();
        tracing::info!(channel = %self.name, to = ?switch.to, reason = ?switch.reason, "input switched");
    }

    fn flush_outputs(&mut self) {
        for slot in &mut self.slots {
            slot.output.flush();
        }
    }

    /// Sends packets (a multiple of 188 bytes) to every output.
    fn emit(&mut self, packets: &mut [u8]) {
        for chunk in packets.chunks_exact_mut(PACKET_SIZE) {
            let Ok(packet) = <&mut [u8; PACKET_SIZE]>::try_from(chunk) else { continue };
            self.restamper.restamp(packet);
            let pid = u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
            let pmts_before = self.watch.pmt_sections();
            match self.watch.observe(packet) {
                None if self.watch.is_pmt(pid) => {
                    let complete = self.watch.pmt_sections() != pmts_before;
                    let pmt = self.watch.pmts().get(&pid).filter(|_| complete);
                    for slot in &mut self.slots {
                        slot.push_pmt(pid, packet, pmt);
                    }
                }
                None => {
                    let pcr = self.watch.is_pcr(pid);
                    for slot in &mut self.slots {
                        if pcr || slot.output.wants(pid) {
                            slot.push(packet);
                        }
                    }
                }
                Some(sections) => {
                    let held = self.held.entry(pid).or_default();
                    held.push(*packet);
                    if !sections.is_empty() {
                        self.release(pid, &sections);
                    } else if held.len() > MAX_HELD {
                        self.release(pid, &[]);
                    }
                }
            }
        }
    }

    /// Sends the held packets of a SCTE-35 PID, as each output decides.
    fn release(&mut self, pid: u16, sections: &[Vec<u8>]) {
        let held = self.held.remove(&pid).unwrap_or_default();
        self.cues.cues += sections.len() as u64;
        let context = CueContext { pid, pts: self.watch.pts().unwrap_or(0), channel: &self.name };
        for slot in &mut self.slots {
            if !slot.output.wants(pid) {
                continue;
            }
            let outcomes: Vec<CueOutcome> = match &mut slot.cues {
                Some(filter) => sections.iter().map(|s| filter.decide(s, &context)).collect(),
                None => vec![CueDecision::Pass.into(); sections.len()],
            };
            for o in &outcomes {
                match o.decision {
                    CueDecision::Pass => self.cues.passed += 1,
                    CueDecision::Drop => self.cues.dropped += 1,
                    CueDecision::Rewrite(_) => self.cues.rewritten += 1,
                }
            }
            if outcomes.iter().all(|o| o.decision == CueDecision::Pass) {
                for mut packet in held.iter().copied() {
                    slot.restamper.restamp(&mut packet);
                    slot.push(&packet);
                }
            } else {
                let mut packetizer = SectionPacketizer::new(pid, 0);
                for (section, outcome) in sections.iter().zip(&outcomes) {
                    let Some(bytes) = outcome.decision.applied(section) else { continue };
                    for mut packet in packetizer.packets(bytes) {
                        slot.restamper.restamp(&mut packet);
                        slot.push(&packet);
                    }
                }
            }
            // After the cue's own packets, so the output sees them first.
            for (section, outcome) in sections.iter().zip(outcomes) {
                let Some(sent) = outcome.decision.applied(section) else { continue };
                if !outcome.playlist.is_empty() || !outcome.events.is_empty() {
                    slot.output.annotate(PlaylistCue {
                        pts: outcome.splice_pts.unwrap_or(context.pts),
                        section: sent.to_vec(),
                        lines: outcome.playlist,
                        events: outcome.events,
                    });
                }
            }
        }
    }

    /// Carries out a command; a change shows in the status before the
    /// caller hears back.
    fn command(&mut self, command: Command, status: &watch::Sender<ChannelStatus>) {
        match command {
            Command::Add(output, cues, reply) => {
                let id = output.config().id.clone();
                let result = if self.slots.iter().any(|s| s.output.config().id == id) {
                    Err(IoError::Config(format!("the channel already has an output named {id:?}")))
                } else {
                    tracing::info!(channel = %self.name, output = %id, "output added");
                    self.slots.push(Slot::new(*output, cues));
                    Ok(())
                };
                status.send_replace(self.status(Instant::now()));
                let _ = reply.send(result);
            }
            Command::Remove(id, reply) => {
                let before = self.slots.len();
                self.slots.retain(|s| s.output.config().id != id);
                let result = if self.slots.len() < before {
                    tracing::info!(channel = %self.name, output = %id, "output removed");
                    Ok(())
                } else {
                    Err(IoError::Config(format!("the channel has no output named {id:?}")))
                };
                status.send_replace(self.status(Instant::now()));
                let _ = reply.send(result);
            }
            Command::Select(source) => {
                if self.merged.is_none()
                    && let Some(switch) = self.failover.select(source)
                {
                    self.switched(switch, Instant::now(), &mut Vec::new());
                }
                status.send_replace(self.status(Instant::now()));
            }
        }
    }

    fn status(&mut self, now: Instant) -> ChannelStatus {
        let active = self.failover.active();
        let merged = self.merged.is_some();
        let mut inputs = Vec::new();
        for input in &mut self.inputs {
            input.set_alive(self.failover.alive(input.role, now), now);
            let is_active = merged || input.role == active;
            inputs.push(input.status(is_active, self.merged.as_ref(), now));
        }
        ChannelStatus {
            active,
            merged,
            switches: self.switches,
            last_switch: self.last_switch.map(|(s, at)| SwitchStatus {
                to: s.to,
                reason: s.reason,
                ago_s: now.saturating_duration_since(at).as_secs_f64(),
            }),
            inputs,
            outputs: self.slots.iter().map(|s| s.output.status()).collect(),
            scte35: self.cues,
        }
    }
}
