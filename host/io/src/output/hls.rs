//! An HLS output: the channel's transport stream cut into segments at its
//! keyframes (`stagebox_media::hls`), kept in memory for the DVR window,
//! and published as a live media playlist that `stageboxd` serves.
//!
//! Cue tags (from the output's SCTE-35 plugin) go before the segment that
//! starts at their splice point: the segmenter is asked to start one at
//! the first keyframe there. A splice point the segmenter refuses (behind
//! the stream, or more than five minutes ahead) counts as immediate: its
//! tags go before the next segment to start. Inside a break opened by
//! `#EXT-X-CUE-OUT:DURATION=…` each segment gets `#EXT-X-CUE-OUT-CONT`
//! until `#EXT-X-CUE-IN` or the break's end.

use crate::status::{OutputCounters, OutputState};
use crate::url::HlsUrl;
use bytes::Bytes;
use stagebox_media::hls::{MediaPlaylist, Segment, Segmenter, Variant};
use stagebox_media::scte35::policy::cue_out_cont;
use stagebox_media::ts::PACKET_SIZE;
use stagebox_media::ts::{WRAP, ticks_forward};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// What the channel hands an HLS output.
#[derive(Debug)]
pub enum Item {
    /// Transport packets, whole.
    Packets(Bytes),
    /// A cue's playlist lines.
    Cue(PlaylistCue),
}

/// A cue as an HLS output's playlist shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistCue {
    /// The lines its SCTE-35 plugin made, in the output's dialects.
    pub lines: Vec<String>,
    /// Its splice point (90 kHz PTS), or where it came in the stream.
    pub pts: u64,
    /// The section as the output sent it (for `#EXT-X-CUE-OUT-CONT`).
    pub section: Vec<u8>,
}

/// A break opened by `#EXT-X-CUE-OUT:DURATION=…`: each later segment
/// inside it gets `#EXT-X-CUE-OUT-CONT`, until `#EXT-X-CUE-IN` or the
/// duration has passed.
struct Break {
    /// 90 kHz ticks.
    duration: u64,
    /// Ticks of the break's segments published so far.
    elapsed: u64,
    section: Vec<u8>,
}

impl Break {
    /// The break a cue's lines open, if one opens with a known duration.
    fn opened_by(lines: &[String], section: &[u8]) -> Option<Break> {
        let duration: f64 = lines.iter().find_map(|l| l.strip_prefix("#EXT-X-CUE-OUT:DURATION="))?.parse().ok()?;
        Some(Break { duration: (duration * 90_000.0).round() as u64, elapsed: 0, section: section.to_vec() })
    }
}

/// Cues whose segment has not started yet, at most (the oldest go first).
const MAX_WAITING_CUES: usize = 64;

/// A cue waiting for its segment.
struct Waiting {
    lines: Vec<String>,
    section: Vec<u8>,
    /// The splice point; `None`: the next segment to start.
    pts: Option<u64>,
    /// For an immediate cue: the first segment (by sequence number) it
    /// may go before.
    after: u64,
}

/// A segment in the window.
struct Listed {
    /// Its first packet's arrival, ms since 1970 UTC: its program
    /// date-time.
    utc_ms: i64,
    /// Where it starts on the output's timeline: seconds since the first
    /// segment.
    start_s: f64,
    duration_s: f64,
    bytes: usize,
}

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
    /// Each segment in the window, oldest first.
    window: VecDeque<Listed>,
    /// `CODECS` and `RESOLUTION`, from the latest segment that shows them
    /// (see `stagebox_media::hls::describe`).
    variant: Variant,
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
}

impl HlsStream {
    fn new() -> HlsStream {
        HlsStream { published: RwLock::default(), updates: watch::Sender::new(0), epoch: format!("{:x}", now_ms()) }
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

    /// Where `utc_ms` (a program date-time) falls on this output's
    /// timeline: seconds since its first segment began, which is where a
    /// player that had played it from the start would be. `None` outside
    /// the window.
    pub fn player_time(&self, utc_ms: i64) -> Option<f64> {
        let p = self.published.read().unwrap_or_else(PoisonError::into_inner);
        p.window.iter().find_map(|s| {
            let into = (utc_ms - s.utc_ms) as f64 / 1000.0;
            (0.0..s.duration_s).contains(&into).then_some(s.start_s + into)
        })
    }

    /// The variant's `CODECS` (`avc1.64001f,mp4a.40.2`) and `RESOLUTION`,
    /// as far as known.
    pub fn variant(&self) -> Variant {
        self.published.read().unwrap_or_else(PoisonError::into_inner).variant.clone()
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
    /// Cues whose segment has not started yet.
    waiting: Vec<Waiting>,
    /// Segments completed so far.
    completed: u64,
    /// Seconds of segments completed so far.
    elapsed: f64,
    /// The break the playlist is in (`cue_out_in` dialect).
    in_break: Option<Break>,
}

impl Packager {
    /// A cue arrived: its segment is asked for, and its tags wait for it.
    fn cue(&mut self, cue: PlaylistCue, counters: &OutputCounters) {
        let PlaylistCue { lines, pts, section } = cue;
        let pts = self.segmenter.cut_at(pts).then_some(pts);
        if self.waiting.len() == MAX_WAITING_CUES {
            self.waiting.remove(0);
            counters.error(&crate::IoError::Overflow("a cue's playlist tags (too many waiting)"));
        }
        // An immediate cue: the segment after the one being filled.
        self.waiting.push(Waiting { lines, section, pts, after: self.completed + 1 });
    }

    /// The tags that go before `segment`: its cues' lines, or, inside a
    /// break, `#EXT-X-CUE-OUT-CONT`.
    fn tags_for(&mut self, segment: &Segment) -> Vec<String> {
        let cues = self.cues_for(segment);
        let ends = cues.iter().any(|w| w.lines.iter().any(|l| l.starts_with("#EXT-X-CUE-IN")));
        let opens = cues.iter().rev().find_map(|w| Break::opened_by(&w.lines, &w.section));
        let mut tags: Vec<String> = Vec::new();
        if opens.is_some() || ends {
            self.in_break = opens;
        } else if let Some(b) = &self.in_break {
            if b.elapsed < b.duration {
                tags.push(cue_out_cont(b.elapsed, b.duration, &b.section));
            } else {
                self.in_break = None;
            }
        }
        if let Some(b) = &mut self.in_break {
            b.elapsed += (segment.duration * 90_000.0).round() as u64;
        }
        tags.extend(cues.into_iter().flat_map(|w| w.lines));
        tags
    }

    /// The cues whose segment is `segment`.
    fn cues_for(&mut self, segment: &Segment) -> Vec<Waiting> {
        let index = segment.sequence;
        let due = |w: &Waiting| match w.pts {
            // A discontinuity ends every wait: old splice points are in
            // the old time base.
            Some(pts) => segment.discontinuity || ticks_forward(pts, segment.pts) < WRAP / 2,
            None => index >= w.after,
        };
        let (now, later): (Vec<Waiting>, Vec<Waiting>) = self.waiting.drain(..).partition(due);
        self.waiting = later;
        now
    }

    fn publish(&mut self, segment: Segment, counters: &OutputCounters) {
        let tags = self.tags_for(&segment);
        self.playlist.annotate(tags);
        self.completed += 1;
        let name = format!("{}-{}.ts", self.stream.epoch, segment.sequence);
        let size = segment.bytes.len();
        counters.sent((size / PACKET_SIZE) as u64, size);
        let gone = self.playlist.push(name.clone(), segment.duration, segment.utc_ms, segment.discontinuity);
        let text: Arc<str> = self.playlist.render().into();
        let bps = |bytes: usize, seconds: f64| if seconds > 0.0 { (bytes as f64 * 8.0 / seconds) as u64 } else { 0 };
        let listed =
            Listed { utc_ms: segment.utc_ms, start_s: self.elapsed, duration_s: segment.duration, bytes: size };
        self.elapsed += segment.duration;
        let segment = Bytes::from(segment.bytes);
        {
            let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
            p.segments.insert(name, segment.clone());
            for old in &gone {
                p.segments.remove(old);
            }
            p.playlist = Some(text);
            p.peak_bps = p.peak_bps.max(bps(listed.bytes, listed.duration_s));
            p.window.push_back(listed);
            let len = p.window.len();
            p.window.drain(..gone.len().min(len));
            let (bytes, seconds) = p.window.iter().fold((0, 0.0), |(b, t), s| (b + s.bytes, t + s.duration_s));
            p.average_bps = bps(bytes, seconds);
        }
        self.stream.updates.send_modify(|n| *n += 1);
        // After the playlist is out (this is no reason to keep a player
        // waiting): each segment opens with a keyframe and its parameter
        // sets, so it shows what the stream carries now.
        let variant = stagebox_media::hls::describe(&segment);
        let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
        if variant.codecs.is_some() {
            p.variant.codecs = variant.codecs;
        }
        if variant.resolution.is_some() {
            p.variant.resolution = variant.resolution;
        }
    }
}

/// Opens an HLS output's stream: nothing is published until the first
/// segment completes.
pub fn stream() -> Arc<HlsStream> {
    Arc::new(HlsStream::new())
}

/// The output's task: segments what the channel queues until the output
/// is removed, then ends the playlist.
pub async fn run(url: HlsUrl, mut rx: mpsc::Receiver<Item>, counters: Arc<OutputCounters>, stream: Arc<HlsStream>) {
    let mut packager = Packager {
        stream,
        segmenter: Segmenter::new(url.segment_s as f64),
        playlist: MediaPlaylist::new(url.window_segments(), url.segment_s),
        waiting: Vec::new(),
        completed: 0,
        elapsed: 0.0,
        in_break: None,
    };
    counters.set_state(OutputState::Running);
    while let Some(item) = rx.recv().await {
        match item {
            Item::Packets(datagram) => {
                for segment in packager.segmenter.push(&datagram, now_ms()) {
                    packager.publish(segment, &counters);
                }
            }
            Item::Cue(cue) => packager.cue(cue, &counters),
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
