//! What a channel reports: counters kept while packets move, and the
//! snapshots (serialised for the API and its event stream) made from them.

use crate::failover::{Reason, Source};
use crate::url::OutputUrl;
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Bits per second from a byte counter sampled now and then.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    last: Option<(Instant, u64)>,
    bps: u64,
}

impl Rate {
    /// Takes a sample of the running byte count; returns the rate since
    /// the last sample that was at least 250 ms ago.
    pub fn sample(&mut self, now: Instant, bytes: u64) -> u64 {
        match self.last {
            Some((at, before)) => {
                let dt = now.saturating_duration_since(at);
                if dt >= Duration::from_millis(250) {
                    self.bps = ((bytes.saturating_sub(before) as f64 * 8.0) / dt.as_secs_f64()) as u64;
                    self.last = Some((now, bytes));
                }
            }
            None => self.last = Some((now, bytes)),
        }
        self.bps
    }
}

/// An input's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputState {
    /// Nothing received yet.
    Waiting,
    /// Packets arrive.
    Receiving,
    /// Nothing for longer than the detection time.
    Silent,
}

/// RTP reordering and loss on an input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RtpStatus {
    /// Sequence numbers that never arrived in the window.
    pub lost: u64,
    /// Packets put back in order.
    pub reordered: u64,
    /// Second copies dropped while the first still waited in the window.
    pub duplicates: u64,
    /// Packets too late for the window, or copies of one already sent,
    /// dropped. In a 2022-7 merge the second copy of most packets lands
    /// here: about one per packet is normal.
    pub late: u64,
}

/// One input's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputStatus {
    /// Primary or backup.
    pub role: Source,
    /// Its URL.
    pub url: String,
    /// Whether its packets are the ones going out.
    pub active: bool,
    /// Receiving, silent or waiting.
    pub state: InputState,
    /// Seconds in that state.
    pub uptime_s: f64,
    /// Transport packets received.
    pub packets: u64,
    /// Bytes of transport packets received.
    pub bytes: u64,
    /// Bits per second, lately.
    pub bitrate_bps: u64,
    /// Continuity counter errors in what arrived.
    pub cc_errors: u64,
    /// Bytes that were not transport packets (garbage, cut packets).
    pub malformed_bytes: u64,
    /// Datagrams that were not RTP (on an RTP input).
    pub errors: u64,
    /// RTP reordering and loss (RTP inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtp: Option<RtpStatus>,
}

/// An output's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputState {
    /// Being set up.
    Starting,
    /// An SRT caller connecting.
    Connecting,
    /// An SRT listener waiting for a caller.
    Listening,
    /// Sending.
    Running,
    /// Failed; trying again after a back-off.
    Retrying,
}

/// One output's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputStatus {
    /// The output's name.
    pub id: String,
    /// udp, rtp, srt, rtmp or hls.
    pub kind: &'static str,
    /// Its state.
    pub state: OutputState,
    /// Seconds in that state.
    pub uptime_s: f64,
    /// Transport packets handed to the destination.
    pub packets: u64,
    /// Bytes handed to the destination.
    pub bytes: u64,
    /// Bits per second, lately.
    pub bitrate_bps: u64,
    /// Packets dropped because the destination could not keep up (its
    /// queue or socket buffer was full) or was not connected.
    pub dropped: u64,
    /// Send and connection failures.
    pub errors: u64,
    /// Times it connected (SRT).
    pub connects: u64,
    /// Continuity errors in what this output sent (0 unless something is
    /// wrong: a check on the distributor itself).
    pub cc_errors: u64,
    /// Datagrams sent (UDP and RTP outputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datagrams: Option<u64>,
    /// The sends to the kernel that carried them (UDP and RTP outputs):
    /// fewer than `datagrams` when datagrams ready together go out as one
    /// UDP GSO send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sends: Option<u64>,
    /// The last failure, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Something the operator should know (e.g. RTMP cannot carry SCTE-35).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// An output's running counters, shared between the channel's task and
/// the output's own task.
#[derive(Debug)]
pub struct OutputCounters {
    kind: &'static str,
    packets: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    connects: AtomicU64,
    cc_errors: AtomicU64,
    datagrams: AtomicU64,
    sends: AtomicU64,
    state: Mutex<(OutputState, Instant)>,
    last_error: Mutex<Option<String>>,
    rate: Mutex<Rate>,
}

impl OutputCounters {
    /// Fresh counters for an output to `url`.
    pub fn new(url: &OutputUrl) -> OutputCounters {
        OutputCounters {
            kind: url.kind(),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            cc_errors: AtomicU64::new(0),
            datagrams: AtomicU64::new(0),
            sends: AtomicU64::new(0),
            state: Mutex::new((OutputState::Starting, Instant::now())),
            last_error: Mutex::new(None),
            rate: Mutex::new(Rate::default()),
        }
    }

    /// `packets` packets in `bytes` bytes went out.
    pub fn sent(&self, packets: u64, bytes: usize) {
        self.packets.fetch_add(packets, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }

    /// `packets` packets in `bytes` bytes went out as `datagrams` datagrams
    /// in `sends` sends (UDP and RTP).
    pub fn sent_datagrams(&self, packets: u64, bytes: usize, datagrams: usize, sends: u64) {
        self.sent(packets, bytes);
        self.datagrams.fetch_add(datagrams as u64, Relaxed);
        self.sends.fetch_add(sends, Relaxed);
    }

    /// `packets` packets were dropped.
    pub fn dropped(&self, packets: u64) {
        self.dropped.fetch_add(packets, Relaxed);
    }

    /// A continuity error in what went out.
    pub fn cc_error(&self) {
        self.cc_errors.fetch_add(1, Relaxed);
    }

    /// A connection was made.
    pub fn connected(&self) {
        self.connects.fetch_add(1, Relaxed);
        self.set_state(OutputState::Running);
    }

    /// Something failed; its whole chain is kept for status.
    pub fn error(&self, error: &dyn std::error::Error) {
        self.errors.fetch_add(1, Relaxed);
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(text);
        }
    }

    /// Moves to `state` (the uptime restarts when it changes).
    pub fn set_state(&self, state: OutputState) {
        if let Ok(mut s) = self.state.lock()
            && s.0 != state
        {
            *s = (state, Instant::now());
        }
    }

    /// A snapshot, named `id`.
    pub fn status(&self, id: &str) -> OutputStatus {
        let now = Instant::now();
        let (state, since) = self.state.lock().map(|s| *s).unwrap_or((OutputState::Starting, now));
        let bytes = self.bytes.load(Relaxed);
        let bitrate_bps = self.rate.lock().map(|mut r| r.sample(now, bytes)).unwrap_or(0);
        let udp = matches!(self.kind, "udp" | "rtp");
        OutputStatus {
            id: id.to_owned(),
            kind: self.kind,
            state,
            uptime_s: now.saturating_duration_since(since).as_secs_f64(),
            packets: self.packets.load(Relaxed),
            bytes,
            bitrate_bps,
            dropped: self.dropped.load(Relaxed),
            errors: self.errors.load(Relaxed),
            connects: self.connects.load(Relaxed),
            cc_errors: self.cc_errors.load(Relaxed),
            datagrams: udp.then(|| self.datagrams.load(Relaxed)),
            sends: udp.then(|| self.sends.load(Relaxed)),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            note: match self.kind {
                "rtmp" => Some("RTMP cannot carry SCTE-35: cues are not sent on this output"),
                "hls" => Some(
                    "cue tags in the playlist come from this output's SCTE-35 plugin (its \"hls\" dialects); \
                     without one, cues stay in the segments only",
                ),
                _ => None,
            },
        }
    }
}

/// The last switch between inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SwitchStatus {
    /// The source switched to.
    pub to: Source,
    /// Why.
    pub reason: Reason,
    /// Seconds ago.
    pub ago_s: f64,
}

/// What happened to SCTE-35 cues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CueStatus {
    /// Sections seen on SCTE-35 PIDs.
    pub cues: u64,
    /// Per-output decisions to pass.
    pub passed: u64,
    /// Per-output decisions to drop.
    pub dropped: u64,
    /// Per-output decisions to rewrite.
    pub rewritten: u64,
}

/// A channel's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelStatus {
    /// Which input's packets go out.
    pub active: Source,
    /// Whether the two inputs are merged by RTP sequence (ST 2022-7).
    pub merged: bool,
    /// Switches between inputs so far.
    pub switches: u64,
    /// The last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_switch: Option<SwitchStatus>,
    /// The inputs, primary first.
    pub inputs: Vec<InputStatus>,
    /// The outputs.
    pub outputs: Vec<OutputStatus>,
    /// SCTE-35 cues.
    pub scte35: CueStatus,
}
