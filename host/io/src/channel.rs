//! A distributor channel: one or two inputs, failover (or a ST 2022-7
//! merge) between them, and any number of outputs that can be added and
//! removed while it runs. One tokio task per channel moves every packet:
//! no copies beyond the one into each output's datagram, no transcoding.

use crate::IoError;
use crate::cue::{CueContext, CueDecision, CueFilter};
use crate::failover::{Failover, FailoverConfig, Source, Switch};
use crate::input::{Input, MERGE_WINDOW, bind};
use crate::output::{Output, OutputConfig};
use crate::status::{ChannelStatus, CueStatus, SwitchStatus};
use crate::url::InputUrl;
use stagebox_media::rtp::Reorder;
use stagebox_media::ts::{ContinuityCheck, PACKET_SIZE, ProgramWatch, Restamper, SectionPacketizer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
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
}

/// Datagrams read from one socket before the task looks at anything else.
const BATCH: usize = 64;

/// Packets of a SCTE-35 PID held while a section is incomplete; more means
/// it is not a section stream at all, and they go out as they are.
const MAX_HELD: usize = 64;

enum Command {
    Add(Box<Output>, Option<Box<dyn CueFilter>>, oneshot::Sender<Result<(), IoError>>),
    Remove(String, oneshot::Sender<Result<(), IoError>>),
    Select(Source),
}

/// A running channel. Dropping it stops the channel's task.
pub struct Channel {
    name: String,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<ChannelStatus>,
    addresses: Vec<SocketAddr>,
    task: JoinHandle<()>,
}

impl Channel {
    /// Binds the inputs, opens the outputs and starts the channel's task.
    pub async fn start(
        config: ChannelConfig,
        outputs: Vec<(OutputConfig, Option<Box<dyn CueFilter>>)>,
    ) -> Result<Channel, IoError> {
        let primary_url = InputUrl::parse(&config.primary)?;
        let backup_url = config.backup.as_deref().map(InputUrl::parse).transpose()?;
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
        let mut slots = Vec::new();
        for (output, cues) in outputs {
            if slots.iter().any(|s: &Slot| s.output.config().id == output.id) {
                return Err(IoError::Config(format!("two outputs are named {:?}", output.id)));
            }
            slots.push(Slot::new(Output::open(output).await?, cues));
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
        let task = tokio::spawn(run(engine, sockets, rx, status_tx));
        Ok(Channel { name: config.name, commands, status, addresses, task })
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
    pub async fn add_output(&self, config: OutputConfig, cues: Option<Box<dyn CueFilter>>) -> Result<(), IoError> {
        let output = Output::open(config).await?;
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Add(Box::new(output), cues, tx)).await.map_err(|_| IoError::Stopped)?;
        rx.await.map_err(|_| IoError::Stopped)?
    }

    /// Removes an output while the channel runs.
    pub async fn remove_output(&self, id: &str) -> Result<(), IoError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Remove(id.to_owned(), tx)).await.map_err(|_| IoError::Stopped)?;
        rx.await.map_err(|_| IoError::Stopped)?
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
}

impl Slot {
    fn new(output: Output, cues: Option<Box<dyn CueFilter>>) -> Slot {
        Slot { output, cues, restamper: Restamper::new(), check: ContinuityCheck::new() }
    }

    fn push(&mut self, packet: &[u8; PACKET_SIZE]) {
        if self.check.check(packet) == stagebox_media::ts::Continuity::Gap {
            self.output.counters().cc_error();
        }
        self.output.push(packet);
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

async fn run(
    mut engine: Engine,
    sockets: Vec<UdpSocket>,
    mut commands: mpsc::Receiver<Command>,
    status: watch::Sender<ChannelStatus>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut datagram = vec![0u8; 65536];
    let mut packets = Vec::with_capacity(BATCH * 7 * PACKET_SIZE);
    let backup = sockets.get(1);
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
            ready = sockets[0].readable() => {
                if ready.is_ok() {
                    engine.drain(0, &sockets[0], &mut datagram, &mut packets);
                }
            }
            ready = async {
                match backup {
                    Some(socket) => socket.readable().await,
                    None => std::future::pending().await,
                }
            }, if backup.is_some() => {
                if let (Ok(()), Some(socket)) = (ready, backup) {
                    engine.drain(1, socket, &mut datagram, &mut packets);
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

impl Engine {
    /// Reads what one socket has, up to a batch, and sends it on.
    fn drain(&mut self, index: usize, socket: &UdpSocket, datagram: &mut [u8], packets: &mut Vec<u8>) {
        let source = self.inputs[index].role;
        let mut received = false;
        for _ in 0..BATCH {
            let n = match socket.try_recv(datagram) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(channel = %self.name, error = %e, "input receive failed");
                    break;
                }
            };
            if !received && !self.failover.alive(source, Instant::now()) {
                self.inputs[index].restart();
            }
            received = true;
            self.inputs[index].receive(&datagram[..n], self.merged.as_mut(), packets);
        }
        if !received {
            return;
        }
        let now = Instant::now();
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
            match self.watch.observe(packet) {
                None => {
                    for slot in &mut self.slots {
                        if slot.output.wants(pid) {
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
            let decisions: Vec<CueDecision> = match &mut slot.cues {
                Some(filter) => sections.iter().map(|s| filter.decide(s, &context)).collect(),
                None => vec![CueDecision::Pass; sections.len()],
            };
            for d in &decisions {
                match d {
                    CueDecision::Pass => self.cues.passed += 1,
                    CueDecision::Drop => self.cues.dropped += 1,
                    CueDecision::Rewrite(_) => self.cues.rewritten += 1,
                }
            }
            if decisions.iter().all(|d| *d == CueDecision::Pass) {
                for mut packet in held.iter().copied() {
                    slot.restamper.restamp(&mut packet);
                    slot.push(&packet);
                }
                continue;
            }
            let mut packetizer = SectionPacketizer::new(pid, 0);
            for (section, decision) in sections.iter().zip(decisions) {
                let bytes = match &decision {
                    CueDecision::Pass => section.as_slice(),
                    CueDecision::Drop => continue,
                    CueDecision::Rewrite(bytes) => bytes.as_slice(),
                };
                for mut packet in packetizer.packets(bytes) {
                    slot.restamper.restamp(&mut packet);
                    slot.push(&packet);
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
