//! A channel's outputs. Each one gets the channel's packets through its own
//! bounded path, so a slow or dead destination only ever loses its own
//! packets (counted), never delays the input or another output:
//!
//! - UDP and RTP send inline from the channel's task with non-blocking
//!   sends; the socket's send buffer is the bound, and a full one counts
//!   the datagram dropped. What the channel hands over at once (all it
//!   read in one go, or in one batch interval) goes out in as few UDP GSO
//!   sends as the kernel allows.
//! - SRT and RTMP run on their own tasks behind bounded queues,
//!   reconnecting with back-off.
//! - HLS packages on its own task behind the same bounded queue, and
//!   publishes to an [`HlsStream`] that the daemon serves.

mod backoff;
pub mod hls;
mod rtmp;
mod srt;
mod udp;

use crate::IoError;
use crate::captions::CaptionDecoder;
use crate::cue::CueFilter;
use crate::status::{OutputCounters, OutputState, OutputStatus};
use crate::transcode::Transcoder;
use crate::url::OutputUrl;
use bytes::{Bytes, BytesMut};
pub use hls::HlsStream;
use stagebox_media::ts::PACKET_SIZE;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What an output is asked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputConfig {
    /// The output's name, unique in its channel.
    pub id: String,
    /// Where it sends.
    pub url: OutputUrl,
    /// When set, only these elementary PIDs go out. PSI always does (the
    /// PIDs below 0x20, and the PMTs, which are rewritten to list only
    /// the streams kept), and so does the PCR's PID.
    pub pids: Option<BTreeSet<u16>>,
}

/// The plugins an output runs, where it has them.
#[derive(Default)]
pub struct OutputPlugins {
    /// Decides its SCTE-35 cues (any output).
    pub cues: Option<Box<dyn CueFilter>>,
    /// Decodes its video's captions into a WebVTT rendition (an HLS output
    /// with CMAF segments; others ignore it).
    pub captions: Option<Box<dyn CaptionDecoder>>,
    /// Makes the renditions of an HLS output's encoding ladder (others
    /// ignore it).
    pub ladder: Option<Box<dyn Transcoder>>,
}

impl OutputPlugins {
    /// An SCTE-35 filter and no caption decoder.
    pub fn cues(cues: Box<dyn CueFilter>) -> OutputPlugins {
        OutputPlugins { cues: Some(cues), captions: None, ladder: None }
    }
}

/// Datagrams an SRT, RTMP or HLS output may have queued before new ones are dropped:
/// about 1.3 s at 8 Mb/s.
pub const QUEUE_DATAGRAMS: usize = 1024;

enum Path {
    Udp(udp::UdpSink),
    Queue { tx: mpsc::Sender<Bytes>, task: JoinHandle<()> },
    Hls { tx: mpsc::Sender<hls::Item>, task: JoinHandle<()> },
}

/// One running output, driven by its channel's task.
pub struct Output {
    config: OutputConfig,
    path: Path,
    per_datagram: usize,
    /// Bytes of packets gathered before they must go: one send's worth.
    gather: usize,
    pending: BytesMut,
    counters: Arc<OutputCounters>,
    /// An HLS output's streams, by name: the output's own, or with a
    /// ladder `OUTPUT-RENDITION` for each rendition (and the output's own
    /// for a pass-through).
    hls: Vec<(String, Arc<HlsStream>)>,
}

impl Output {
    /// Opens the output: UDP resolves and binds now; SRT starts its task,
    /// which connects (or listens) in the background. An HLS output takes
    /// its caption decoder and its ladder from `plugins` (its cue filter
    /// stays with the channel).
    pub async fn open(config: OutputConfig, plugins: OutputPlugins) -> Result<Output, IoError> {
        let counters = Arc::new(OutputCounters::new(&config.url));
        let mut hls = Vec::new();
        let (path, per_datagram) = match &config.url {
            OutputUrl::Udp(dest) => (Path::Udp(udp::UdpSink::open(dest).await?), dest.packets_per_datagram),
            OutputUrl::Srt(srt) => {
                let (tx, rx) = mpsc::channel(QUEUE_DATAGRAMS);
                let task = tokio::spawn(srt::run(srt.clone(), rx, counters.clone()));
                (Path::Queue { tx, task }, 7)
            }
            OutputUrl::Rtmp(rtmp) => {
                let (tx, rx) = mpsc::channel(QUEUE_DATAGRAMS);
                let task = tokio::spawn(rtmp::run(rtmp.clone(), rx, counters.clone()));
                (Path::Queue { tx, task }, 7)
            }
            OutputUrl::Hls(url) => {
                let (tx, rx) = mpsc::channel(QUEUE_DATAGRAMS);
                let (url, counts) = (url.clone(), counters.clone());
                let task = match plugins.ladder {
                    None => {
                        let stream = hls::stream();
                        hls.push((config.id.clone(), stream.clone()));
                        match plugins.captions {
                            // A caption plugin runs on a thread of its own.
                            Some(captions) => tokio::task::spawn_blocking(move || {
                                hls::run_blocking(url, rx, counts, stream, Some(captions));
                            }),
                            None => tokio::spawn(hls::run(url, rx, counts, stream)),
                        }
                    }
                    Some(ladder) => {
                        let passthrough = url.passthrough.then(hls::stream);
                        if let Some(stream) = &passthrough {
                            hls.push((config.id.clone(), stream.clone()));
                        }
                        let mut renditions = Vec::new();
                        for name in ladder.renditions() {
                            let stream = hls::stream();
                            hls.push((format!("{}-{name}", config.id), stream.clone()));
                            renditions.push(stream);
                        }
                        let captions = plugins.captions;
                        tokio::task::spawn_blocking(move || {
                            hls::run_ladder(url, rx, counts, passthrough, renditions, captions, ladder);
                        })
                    }
                };
                (Path::Hls { tx, task }, 7)
            }
        };
        let gather = match &path {
            Path::Udp(sink) => {
                counters.set_state(OutputState::Running);
                sink.batch_bytes()
            }
            Path::Queue { .. } | Path::Hls { .. } => per_datagram * PACKET_SIZE,
        };
        Ok(Output { config, path, per_datagram, gather, pending: BytesMut::with_capacity(gather), counters, hls })
    }

    /// The output's configuration.
    pub fn config(&self) -> &OutputConfig {
        &self.config
    }

    /// Whether `pid` goes out on this output.
    pub fn wants(&self, pid: u16) -> bool {
        pid < 0x20 || self.config.pids.as_ref().is_none_or(|p| p.contains(&pid))
    }

    /// Adds one packet. A UDP or RTP output gathers packets until
    /// [`flush`](Output::flush) or one send's worth (up to 64 datagrams);
    /// an SRT or RTMP output queues each full datagram.
    pub fn push(&mut self, packet: &[u8; PACKET_SIZE]) {
        self.pending.extend_from_slice(packet);
        if self.pending.len() >= self.gather {
            self.flush();
        }
    }

    /// Sends what is pending: datagrams of the output's size, the last one
    /// maybe short.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match &mut self.path {
            Path::Udp(sink) => {
                sink.send(&self.pending, &self.counters);
                self.pending.clear();
            }
            Path::Queue { tx, .. } => queue(&mut self.pending, self.per_datagram, &self.counters, tx, |d| d),
            Path::Hls { tx, .. } => queue(&mut self.pending, self.per_datagram, &self.counters, tx, hls::Item::Packets),
        }
    }

    /// Playlist lines for a cue (see [`hls::PlaylistCue`]): an HLS output
    /// starts a segment at its splice point and writes the lines before
    /// it; other outputs have no playlist and ignore them.
    pub fn annotate(&mut self, cue: hls::PlaylistCue) {
        if !matches!(self.path, Path::Hls { .. }) {
            return;
        }
        // The packets before the cue go first.
        self.flush();
        if let Path::Hls { tx, .. } = &self.path
            && tx.try_send(hls::Item::Cue(cue)).is_err()
        {
            self.counters.error(&IoError::Overflow("a cue's playlist tags"));
        }
    }

    /// The output's status now.
    pub fn status(&self) -> OutputStatus {
        self.counters.status(&self.config.id)
    }

    /// The streams an HLS output publishes, by name.
    pub fn hls(&self) -> &[(String, Arc<HlsStream>)] {
        &self.hls
    }

    /// The counters, shared with the output's task.
    pub fn counters(&self) -> &Arc<OutputCounters> {
        &self.counters
    }
}

/// Queues `pending` as datagrams of `per_datagram` packets (the last
/// maybe short), each made an item by `item`; a full queue drops the
/// datagram, counted.
fn queue<T>(
    pending: &mut BytesMut,
    per_datagram: usize,
    counters: &OutputCounters,
    tx: &mpsc::Sender<T>,
    item: impl Fn(Bytes) -> T,
) {
    while !pending.is_empty() {
        let len = pending.len().min(per_datagram * PACKET_SIZE);
        if tx.try_send(item(pending.split_to(len).freeze())).is_err() {
            counters.dropped((len / PACKET_SIZE) as u64);
        }
    }
}

/// How long a removed SRT output may take to close its connection.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl Drop for Output {
    fn drop(&mut self) {
        if let Path::Queue { task, .. } | Path::Hls { task, .. } = &self.path {
            // The queue closes with this output: a connected SRT output
            // then closes its connection cleanly, so the peer sees the end
            // at once. One still connecting or listening is stopped after
            // a grace period.
            let abort = task.abort_handle();
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        tokio::time::sleep(CLOSE_GRACE).await;
                        abort.abort();
                    });
                }
                Err(_) => abort.abort(),
            }
        }
    }
}
