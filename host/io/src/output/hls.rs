//! An HLS output: the channel's transport stream cut into segments at its
//! keyframes (`stagebox_media::hls`), kept in memory for the DVR window,
//! and published as a live media playlist that `stageboxd` serves.

use crate::status::{OutputCounters, OutputState};
use crate::url::HlsUrl;
use bytes::Bytes;
use stagebox_media::hls::{MediaPlaylist, Segment, Segmenter};
use stagebox_media::ts::PACKET_SIZE;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// What the stream's readers see: the playlist and the segments it lists.
#[derive(Default)]
struct Published {
    /// `None` until the first segment is complete.
    playlist: Option<Arc<str>>,
    segments: HashMap<String, Bytes>,
    /// Bits per second of the busiest segment yet (`BANDWIDTH`).
    peak_bps: u64,
    /// Bits per second over the segments in the window
    /// (`AVERAGE-BANDWIDTH`).
    average_bps: u64,
}

/// A live HLS stream held in memory: the newest media playlist and the
/// segments in its window. Shared between the output that writes it and
/// the server that reads it.
pub struct HlsStream {
    published: RwLock<Published>,
    /// Counts the segments published; a reader waiting for the next
    /// playlist subscribes.
    updates: watch::Sender<u64>,
    /// Names this run's segments: a restarted output never reuses a
    /// segment name with other content, so segments can be cached forever.
    epoch: String,
    target_s: u64,
}

impl HlsStream {
    fn new(target_s: u64) -> HlsStream {
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        HlsStream {
            published: RwLock::default(),
            updates: watch::Sender::new(0),
            epoch: format!("{epoch:x}"),
            target_s,
        }
    }

    /// The media playlist's text, once a segment exists.
    pub fn playlist(&self) -> Option<Arc<str>> {
        self.published.read().unwrap_or_else(PoisonError::into_inner).playlist.clone()
    }

    /// Segment `name` (as the playlist lists it), while it is in the window.
    pub fn segment(&self, name: &str) -> Option<Bytes> {
        self.published.read().unwrap_or_else(PoisonError::into_inner).segments.get(name).cloned()
    }

    /// Peak and average bits per second of the segments so far, once one
    /// exists.
    pub fn bandwidth(&self) -> Option<(u64, u64)> {
        let p = self.published.read().unwrap_or_else(PoisonError::into_inner);
        p.playlist.as_ref().map(|_| (p.peak_bps, p.average_bps))
    }

    /// The segment duration asked for, in seconds.
    pub fn target_s(&self) -> u64 {
        self.target_s
    }

    /// A receiver whose value moves on with each segment published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.updates.subscribe()
    }
}

/// The writing side: segments packets and publishes what completes.
struct Packager {
    stream: Arc<HlsStream>,
    segmenter: Segmenter,
    playlist: MediaPlaylist,
    /// Size and duration of each segment in the window, oldest first.
    window: std::collections::VecDeque<(usize, f64)>,
}

impl Packager {
    fn publish(&mut self, segment: Segment, counters: &OutputCounters) {
        let name = format!("{}-{}.ts", self.stream.epoch, segment.sequence);
        let size = segment.bytes.len();
        counters.sent((size / PACKET_SIZE) as u64, size);
        let gone = self.playlist.push(name.clone(), segment.duration, segment.utc_ms, segment.discontinuity);
        self.window.push_back((size, segment.duration));
        self.window.drain(..gone.len().min(self.window.len()));
        let text: Arc<str> = self.playlist.render().into();
        let bps = |bytes: usize, seconds: f64| if seconds > 0.0 { (bytes as f64 * 8.0 / seconds) as u64 } else { 0 };
        let (bytes, seconds) = self.window.iter().fold((0, 0.0), |(b, s), (size, d)| (b + size, s + d));
        {
            let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
            p.segments.insert(name, Bytes::from(segment.bytes));
            for old in &gone {
                p.segments.remove(old);
            }
            p.playlist = Some(text);
            p.peak_bps = p.peak_bps.max(bps(size, segment.duration));
            p.average_bps = bps(bytes, seconds);
        }
        self.stream.updates.send_modify(|n| *n += 1);
    }
}

/// Opens an HLS output's stream: nothing is published until the first
/// segment completes.
pub fn stream(url: &HlsUrl) -> Arc<HlsStream> {
    Arc::new(HlsStream::new(url.segment_s))
}

/// The output's task: segments what the channel queues until the output
/// is removed, then ends the playlist.
pub async fn run(url: HlsUrl, mut rx: mpsc::Receiver<Bytes>, counters: Arc<OutputCounters>, stream: Arc<HlsStream>) {
    let mut packager = Packager {
        stream,
        segmenter: Segmenter::new(url.segment_s as f64),
        playlist: MediaPlaylist::new(url.window_segments(), url.segment_s),
        window: Default::default(),
    };
    counters.set_state(OutputState::Running);
    while let Some(datagram) = rx.recv().await {
        for segment in packager.segmenter.push(&datagram, now_ms()) {
            packager.publish(segment, &counters);
        }
    }
    if let Some(segment) = packager.segmenter.finish() {
        packager.publish(segment, &counters);
    }
    packager.playlist.end();
    let text: Arc<str> = packager.playlist.render().into();
    packager.stream.published.write().unwrap_or_else(PoisonError::into_inner).playlist = Some(text);
    packager.stream.updates.send_modify(|n| *n += 1);
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
