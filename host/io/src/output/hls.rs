//! An HLS output: the channel's transport stream cut into segments at its
//! keyframes (`stagebox_media::hls`), kept in memory for the DVR window,
//! and published as a live media playlist that `stageboxd` serves. With
//! `container=cmaf` the segments are CMAF (`stagebox_media::cmaf`), a
//! track each: the video playlist lists the video, an audio playlist the
//! audio, and the same segments make the output's part of the channel's
//! DASH manifest (see [`HlsStream::dash`]). Given a caption decoder, a
//! CMAF output also has a WebVTT rendition of the video's captions: WebVTT
//! segments for HLS, the same cues as `wvtt` CMAF segments for DASH, each
//! published one segment after its video (a cue is known once it ends).
//!
//! Cue tags (from the output's SCTE-35 plugin) go before the segment that
//! starts at their splice point: the segmenter is asked to start one at
//! the first keyframe there. A splice point the segmenter refuses (behind
//! the stream, or more than five minutes ahead) counts as immediate: its
//! tags go before the next segment to start. Inside a break opened by
//! `#EXT-X-CUE-OUT:DURATION=…` each segment gets `#EXT-X-CUE-OUT-CONT`
//! until `#EXT-X-CUE-IN` or the break's end.

use crate::captions::CaptionDecoder;
use crate::status::{OutputCounters, OutputState};
use crate::transcode::Transcoder;
use crate::url::{Container, HlsUrl};
use bytes::Bytes;
use stagebox_media::captions::Cue;
use stagebox_media::cmaf::{CmafPart, CmafSegment, Cutter, Media};
use stagebox_media::dash::{Event, Representation};
use stagebox_media::fmp4::WebVttTrack;
use stagebox_media::hls::{MediaPlaylist, Segment, Segmenter, Variant, webvtt_segment};
use stagebox_media::scte35::policy::cue_out_cont;
use stagebox_media::ts::PACKET_SIZE;
use stagebox_media::ts::{WRAP, ticks_forward, ticks_to_ns};
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
    /// Its DASH events (their `time` a 90 kHz PTS), for a CMAF output's
    /// part of the manifest.
    pub events: Vec<Event>,
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

/// DASH events kept at most (the oldest go first).
const MAX_EVENTS: usize = 64;

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
    /// Start and duration in its track's timescale (CMAF; for DASH).
    time: u64,
    ticks: u64,
}

/// One media playlist as readers see it.
#[derive(Default)]
struct Rendition {
    /// `None` until the first segment is complete.
    playlist: Option<Arc<str>>,
    /// Each segment in the window, oldest first.
    window: VecDeque<Listed>,
    /// Bits per second of the busiest segment yet (`BANDWIDTH`).
    peak_bps: u64,
    /// Bits per second over the segments in the window
    /// (`AVERAGE-BANDWIDTH`).
    average_bps: u64,
    /// The media sequence number of the segment being filled and its
    /// parts listed so far (what a blocking reload waits for).
    progress: (u64, usize),
}

impl Rendition {
    /// Lists `listed`, and lets the `gone` oldest go.
    fn list(&mut self, text: Arc<str>, listed: Listed, gone: usize) {
        let bps = |bytes: usize, seconds: f64| if seconds > 0.0 { (bytes as f64 * 8.0 / seconds) as u64 } else { 0 };
        self.playlist = Some(text);
        self.peak_bps = self.peak_bps.max(bps(listed.bytes, listed.duration_s));
        self.window.push_back(listed);
        let len = self.window.len();
        self.window.drain(..gone.min(len));
        let (bytes, seconds) = self.window.iter().fold((0, 0.0), |(b, t), s| (b + s.bytes, t + s.duration_s));
        self.average_bps = bps(bytes, seconds);
    }
}

/// What a CMAF track's headers say, once known.
#[derive(Clone)]
struct TrackInfo {
    codec: String,
    timescale: u32,
    size: Option<(u32, u32)>,
    /// Sample rate and channel_configuration.
    audio: Option<(u32, u8)>,
    /// Its init segment's name.
    init: String,
}

/// What a CMAF output knows of its tracks.
#[derive(Clone, Default)]
struct CmafInfo {
    /// Time zero (90 kHz, extended) and when it was received.
    zero: Option<(u64, i64)>,
    video: Option<TrackInfo>,
    audio: Option<TrackInfo>,
    text: Option<TrackInfo>,
    segment_s: u64,
    dvr_s: u64,
    ended: bool,
}

/// What the stream's readers see: the playlists and the segments they
/// list.
#[derive(Default)]
struct Published {
    /// The transport stream, or with CMAF the video.
    main: Rendition,
    /// CMAF audio.
    audio: Rendition,
    /// CMAF captions: the WebVTT segments (HLS) and, beside each, its
    /// `wvtt` segment (DASH).
    text: Rendition,
    /// Segments and init segments by name.
    segments: HashMap<String, Bytes>,
    /// `CODECS` and `RESOLUTION`, from the latest segment that shows them
    /// (see `stagebox_media::hls::describe`), or from the CMAF tracks.
    variant: Variant,
    /// `Some` for a CMAF output.
    cmaf: Option<CmafInfo>,
    /// SCTE-35 events for DASH, oldest first.
    events: VecDeque<Event>,
    /// The segment duration aimed at, seconds: bounds how long a blocking
    /// request waits.
    target_s: u64,
    /// LL-HLS: each track's next part number (video, audio).
    next_parts: [u64; 2],
}

/// A CMAF output's part of its channel's DASH manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct DashPart {
    /// The video representation.
    pub video: Representation,
    /// The audio representation, if the stream has AAC.
    pub audio: Option<Representation>,
    /// The captions' representation, if the output decodes them.
    pub text: Option<Representation>,
    /// Time zero (its first video segment, 90 kHz on the extended
    /// timeline) and when it was received, ms since 1970 UTC.
    pub zero: (u64, i64),
    /// SCTE-35 events in the window, on the same timeline.
    pub events: Vec<Event>,
    /// The segment duration aimed at, and the longest so far, seconds.
    pub segment_s: f64,
    /// The longest segment listed, seconds.
    pub max_segment_s: f64,
    /// The DVR window, seconds.
    pub dvr_s: f64,
    /// The output was removed: nothing more will come.
    pub ended: bool,
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Published> {
        self.published.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The media playlist's text (with CMAF, the video's), once a segment
    /// exists.
    pub fn playlist(&self) -> Option<Arc<str>> {
        self.read().main.playlist.clone()
    }

    /// A CMAF output's audio playlist, once an audio segment exists.
    pub fn audio_playlist(&self) -> Option<Arc<str>> {
        self.read().audio.playlist.clone()
    }

    /// A CMAF output's WebVTT subtitles playlist, once its first segment
    /// is out.
    pub fn subtitles_playlist(&self) -> Option<Arc<str>> {
        self.read().text.playlist.clone()
    }

    /// The media sequence number of the segment being filled, and how
    /// many of its parts are listed, in the main (or with `audio` the
    /// audio) playlist.
    pub fn progress(&self, audio: bool) -> (u64, usize) {
        let p = self.read();
        if audio { p.audio.progress } else { p.main.progress }
    }

    /// LL-HLS: the number the next part of the video (or with `audio` the
    /// audio) will have.
    pub fn next_part(&self, audio: bool) -> u64 {
        self.read().next_parts[usize::from(audio)]
    }

    /// The segment duration aimed at, in seconds.
    pub fn target_s(&self) -> u64 {
        self.read().target_s
    }

    /// Whether the output's segments are CMAF.
    pub fn is_cmaf(&self) -> bool {
        self.read().cmaf.is_some()
    }

    /// A CMAF output's audio channel_configuration, once its audio
    /// playlist exists (for the master playlist's audio group).
    pub fn audio_channels(&self) -> Option<u8> {
        let p = self.read();
        p.audio.playlist.as_ref()?;
        p.cmaf.as_ref()?.audio.as_ref()?.audio.map(|(_, channels)| channels)
    }

    /// Segment `name` (as the playlist lists it), while it is in the window.
    pub fn segment(&self, name: &str) -> Option<Bytes> {
        self.read().segments.get(name).cloned()
    }

    /// Peak and average bits per second of the segments so far (with
    /// CMAF, video and audio together), once one exists.
    pub fn bandwidth(&self) -> Option<(u64, u64)> {
        let p = self.read();
        p.main.playlist.as_ref().map(|_| (p.main.peak_bps + p.audio.peak_bps, p.main.average_bps + p.audio.average_bps))
    }

    /// Where `utc_ms` (a program date-time) falls on this output's
    /// timeline: seconds since its first segment began, which is where a
    /// player that had played it from the start would be. `None` outside
    /// the window.
    pub fn player_time(&self, utc_ms: i64) -> Option<f64> {
        let p = self.read();
        p.main.window.iter().find_map(|s| {
            let into = (utc_ms - s.utc_ms) as f64 / 1000.0;
            (0.0..s.duration_s).contains(&into).then_some(s.start_s + into)
        })
    }

    /// The variant's `CODECS` (`avc1.64001f,mp4a.40.2`) and `RESOLUTION`,
    /// as far as known.
    pub fn variant(&self) -> Variant {
        self.read().variant.clone()
    }

    /// A CMAF output's part of the DASH manifest, once its first video
    /// segment is out; `output` is its name (the URLs start with it). Its
    /// representations are placed on `period_zero` (90 kHz, extended
    /// timeline: another output's time zero, when outputs share a
    /// manifest), or on its own time zero.
    pub fn dash(&self, output: &str, period_zero: Option<u64>) -> Option<DashPart> {
        let p = self.read();
        let cmaf = p.cmaf.as_ref()?;
        let (zero, zero_utc) = cmaf.zero?;
        let representation = |t: &TrackInfo, r: &Rendition, id: String, letter: char| {
            let pto = period_zero.unwrap_or(zero) * u64::from(t.timescale) / 90_000;
            Representation {
                id,
                codecs: t.codec.clone(),
                bandwidth: r.peak_bps,
                size: t.size,
                audio: t.audio,
                timescale: t.timescale,
                presentation_time_offset: pto,
                initialization: format!("{output}/{}", t.init),
                media: format!("{output}/{}-{letter}$Time$.m4s", self.epoch),
                segments: r.window.iter().map(|s| (s.time, s.ticks)).collect(),
            }
        };
        let video = representation(cmaf.video.as_ref()?, &p.main, output.to_owned(), 'v');
        let audio = cmaf
            .audio
            .as_ref()
            .filter(|_| !p.audio.window.is_empty())
            .map(|t| representation(t, &p.audio, format!("{output}-audio"), 'a'));
        let text = cmaf
            .text
            .as_ref()
            .filter(|_| !p.text.window.is_empty())
            .map(|t| representation(t, &p.text, format!("{output}-captions"), 't'));
        let max_segment_s = p.main.window.iter().map(|s| s.duration_s).fold(0.0, f64::max);
        Some(DashPart {
            video,
            audio,
            text,
            zero: (zero, zero_utc),
            events: p.events.iter().cloned().collect(),
            segment_s: cmaf.segment_s as f64,
            max_segment_s,
            dvr_s: cmaf.dvr_s as f64,
            ended: cmaf.ended,
        })
    }

    /// A receiver whose value moves on with each segment published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.updates.subscribe()
    }
}

/// How the output cuts the stream.
enum Cutting {
    /// MPEG-TS segments.
    Ts(Box<Segmenter>),
    /// CMAF segments, a track each.
    Cmaf(Box<Cutter>),
}

/// A segment about to be listed, whichever its container.
struct Ready {
    /// The audio of a CMAF output; otherwise the main playlist's.
    audio: bool,
    sequence: u64,
    /// Its keyframe's PTS (90 kHz, 33 bits).
    pts: u64,
    /// Start and duration in its track's timescale.
    time: u64,
    ticks: u64,
    duration_s: f64,
    utc_ms: i64,
    discontinuity: bool,
    name: String,
    bytes: Vec<u8>,
}

impl Ready {
    fn ts(segment: Segment, epoch: &str) -> Ready {
        Ready {
            audio: false,
            sequence: segment.sequence,
            pts: segment.pts,
            time: segment.pts,
            ticks: (segment.duration * 90_000.0).round() as u64,
            duration_s: segment.duration,
            utc_ms: segment.utc_ms,
            discontinuity: segment.discontinuity,
            name: format!("{epoch}-{}.ts", segment.sequence),
            bytes: segment.bytes,
        }
    }

    fn cmaf(segment: CmafSegment, timescale: u32, epoch: &str) -> Ready {
        let audio = segment.media == Media::Audio;
        Ready {
            audio,
            sequence: segment.sequence,
            pts: segment.pts,
            time: segment.time,
            ticks: segment.duration,
            duration_s: segment.seconds(timescale),
            utc_ms: segment.utc_ms,
            discontinuity: segment.discontinuity,
            name: format!("{epoch}-{}{}.m4s", if audio { 'a' } else { 'v' }, segment.time),
            bytes: segment.bytes,
        }
    }
}

/// A video segment's span, for the subtitle segment that covers it.
struct Span {
    /// 90 kHz, on the extended timeline.
    start: u64,
    ticks: u64,
    utc_ms: i64,
    discontinuity: bool,
}

/// One subtitle segment, in both forms, ready to publish.
struct SubtitleSegment {
    vtt: (String, Bytes),
    wvtt: (String, Bytes),
    /// Segments that left the window (both forms' names).
    gone: Vec<String>,
    text: Arc<str>,
    listed: Listed,
}

/// A CMAF output's WebVTT rendition, from its caption decoder.
struct Subtitles {
    decoder: Box<dyn CaptionDecoder>,
    /// Cues decoded and still in the window, oldest first.
    cues: Vec<Cue>,
    track: WebVttTrack,
    playlist: MediaPlaylist,
    /// Spans whose subtitle segment waits for the next video segment.
    waiting: VecDeque<Span>,
    elapsed: f64,
    /// The DVR depth: cues that ended this long before a segment go.
    dvr_ns: u64,
}

impl Subtitles {
    /// Decodes the captions the cutter kept (cc_data at their PTS) into
    /// cues.
    fn decode(&mut self, cutter: &mut Cutter) {
        for (pts, cc) in cutter.take_captions() {
            let cues = self.decoder.decode(&cc, ticks_to_ns(pts));
            self.cues.extend(cues);
        }
    }

    /// The subtitle segment covering `span`, with time zero at `zero`
    /// (90 kHz, extended).
    fn segment(&mut self, span: Span, zero: u64, epoch: &str) -> SubtitleSegment {
        let (start_ns, end_ns) = (ticks_to_ns(span.start), ticks_to_ns(span.start + span.ticks));
        self.cues.retain(|c| c.end + self.dvr_ns >= start_ns);
        let vtt = webvtt_segment(&self.cues, start_ns, end_ns, ticks_to_ns(zero), zero);
        let wvtt = self.track.fragment(span.start, span.start + span.ticks, &self.cues);
        let duration_s = span.ticks as f64 / 90_000.0;
        let name = format!("{epoch}-t{}", span.start);
        let gone = self.playlist.push(format!("{name}.vtt"), duration_s, span.utc_ms, span.discontinuity);
        let listed = Listed {
            utc_ms: span.utc_ms,
            start_s: self.elapsed,
            duration_s,
            bytes: wvtt.len(),
            time: span.start,
            ticks: span.ticks,
        };
        self.elapsed += duration_s;
        SubtitleSegment {
            vtt: (format!("{name}.vtt"), Bytes::from(vtt)),
            wvtt: (format!("{name}.m4s"), Bytes::from(wvtt)),
            gone: gone.into_iter().flat_map(|g| [g.replace(".vtt", ".m4s"), g]).collect(),
            text: self.playlist.render().into(),
            listed,
        }
    }
}

/// The writing side: segments packets and publishes what completes.
struct Packager {
    stream: Arc<HlsStream>,
    cutting: Cutting,
    /// The transport stream's playlist, or with CMAF the video's.
    playlist: MediaPlaylist,
    /// With CMAF, the audio's.
    audio: MediaPlaylist,
    /// Cues whose segment has not started yet.
    waiting: Vec<Waiting>,
    /// Segments completed so far.
    completed: u64,
    /// Seconds of segments completed so far.
    elapsed: f64,
    /// Seconds of audio segments completed so far.
    audio_elapsed: f64,
    /// The break the playlist is in (`cue_out_in` dialect).
    in_break: Option<Break>,
    /// A CMAF output's captions, when it has a decoder.
    subtitles: Option<Subtitles>,
    /// LL-HLS: each track's parts still served (video, audio), oldest
    /// first, and the part target in ms.
    parts: [VecDeque<String>; 2],
    part_ms: u64,
    /// Program date-times from the PTS read as TAI (`clock=tai`).
    tai_clock: bool,
}

/// When `pts` (TAI on the 90 kHz clock, 33 bits) was, in ms since 1970
/// UTC: the 33-bit value is placed at the wrap nearest `now_tai_ns` (a
/// wrap is 26.5 hours, so a stream within 13 hours of the clock is placed
/// right), and UTC is TAI less `tai_minus_utc_ns` (the kernel's TAI
/// offset: 37 s since 2017 on a PTP-disciplined box).
fn utc_ms_of_pts(pts: u64, now_tai_ns: u64, tai_minus_utc_ns: i64) -> i64 {
    let now = (u128::from(now_tai_ns) * 90_000 / 1_000_000_000) as i128;
    let wrap = WRAP as i128;
    let base = now - now.rem_euclid(wrap) + (pts % WRAP) as i128;
    let ticks = [base - wrap, base, base + wrap].into_iter().min_by_key(|t| (t - now).abs()).unwrap_or(base);
    let tai_ns = ticks * 1_000_000_000 / 90_000;
    ((tai_ns - i128::from(tai_minus_utc_ns)) / 1_000_000) as i64
}

/// The UTC time of `pts` read as TAI, by this box's clocks.
fn tai_utc_ms(pts: u64) -> i64 {
    use rustix::time::{ClockId, clock_gettime};
    let ns = |id| {
        let t = clock_gettime(id);
        i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
    };
    let (tai, utc) = (ns(ClockId::Tai), ns(ClockId::Realtime));
    // The offset is whole seconds; the two readings are a moment apart.
    let offset = ((tai - utc) as f64 / 1e9).round() as i64 * 1_000_000_000;
    utc_ms_of_pts(pts, u64::try_from(tai).unwrap_or(0), offset)
}

impl Packager {
    fn new(url: &HlsUrl, stream: Arc<HlsStream>, captions: Option<Box<dyn CaptionDecoder>>) -> Packager {
        let (window, target) = (url.window_segments(), url.segment_s);
        let mut playlist = MediaPlaylist::new(window, target);
        let mut audio = MediaPlaylist::new(window, target);
        let mut subtitles = None;
        stream.published.write().unwrap_or_else(PoisonError::into_inner).target_s = target;
        let cutting = match url.container {
            // Captions need CMAF (the daemon refuses them elsewhere).
            Container::Ts => Cutting::Ts(Box::new(Segmenter::new(target as f64))),
            Container::Cmaf => {
                playlist.map(init_name(&stream.epoch, Media::Video));
                audio.map(init_name(&stream.epoch, Media::Audio));
                let mut p = stream.published.write().unwrap_or_else(PoisonError::into_inner);
                p.cmaf = Some(CmafInfo { segment_s: url.segment_s, dvr_s: url.dvr_s, ..CmafInfo::default() });
                let mut cutter = Cutter::new(target as f64);
                if let Some(ms) = url.part_ms {
                    let part_s = ms as f64 / 1000.0;
                    cutter.parts(part_s);
                    playlist.parts(part_s);
                    audio.parts(part_s);
                }
                if let Some(decoder) = captions {
                    cutter.keep_captions();
                    subtitles = Some(Subtitles {
                        decoder,
                        cues: Vec::new(),
                        track: WebVttTrack::new(),
                        playlist: MediaPlaylist::new(window, target),
                        waiting: VecDeque::new(),
                        elapsed: 0.0,
                        dvr_ns: url.dvr_s * 1_000_000_000,
                    });
                }
                Cutting::Cmaf(Box::new(cutter))
            }
        };
        Packager {
            stream,
            cutting,
            playlist,
            audio,
            waiting: Vec::new(),
            completed: 0,
            elapsed: 0.0,
            audio_elapsed: 0.0,
            in_break: None,
            subtitles,
            parts: [VecDeque::new(), VecDeque::new()],
            part_ms: url.part_ms.unwrap_or(0).max(1),
            tai_clock: url.tai_clock,
        }
    }

    /// Cuts `datagram` (arrived at `utc_ms`) and publishes what completes.
    fn push(&mut self, datagram: &[u8], utc_ms: i64, counters: &OutputCounters) {
        match &mut self.cutting {
            Cutting::Ts(segmenter) => {
                for mut segment in segmenter.push(datagram, utc_ms) {
                    if self.tai_clock {
                        segment.utc_ms = tai_utc_ms(segment.pts);
                    }
                    let ready = Ready::ts(segment, &self.stream.epoch);
                    self.publish(ready, counters);
                }
            }
            Cutting::Cmaf(cutter) => {
                let mut done = cutter.push(datagram, utc_ms);
                if self.tai_clock {
                    for segment in &mut done {
                        segment.utc_ms = tai_utc_ms(segment.pts);
                    }
                }
                let parts = cutter.take_parts();
                self.publish_parts(parts);
                self.publish_cmaf(done, counters);
            }
        }
    }

    /// The stream ended: what was being filled is published, and the
    /// playlists end.
    fn finish(mut self, counters: &OutputCounters) {
        match &mut self.cutting {
            Cutting::Ts(segmenter) => {
                if let Some(segment) = segmenter.finish() {
                    let ready = Ready::ts(segment, &self.stream.epoch);
                    self.publish(ready, counters);
                }
            }
            Cutting::Cmaf(cutter) => {
                let done = cutter.finish();
                let parts = cutter.take_parts();
                self.publish_parts(parts);
                self.publish_cmaf(done, counters);
            }
        }
        self.flush_subtitles();
        self.playlist.end();
        self.audio.end();
        let (main, audio): (Arc<str>, Arc<str>) = (self.playlist.render().into(), self.audio.render().into());
        {
            let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
            p.main.playlist = Some(main);
            if p.audio.playlist.is_some() {
                p.audio.playlist = Some(audio);
            }
            if let Some(cmaf) = &mut p.cmaf {
                cmaf.ended = true;
            }
        }
        self.stream.updates.send_modify(|n| *n += 1);
    }

    /// One item from the channel.
    fn take(&mut self, item: Item, counters: &OutputCounters) {
        match item {
            Item::Packets(datagram) => self.push(&datagram, now_ms(), counters),
            Item::Cue(cue) => self.cue(cue, counters),
        }
    }

    /// A cue arrived: its segment is asked for, and its tags wait for it.
    fn cue(&mut self, cue: PlaylistCue, counters: &OutputCounters) {
        let PlaylistCue { lines, pts, section, events } = cue;
        let pts = match &mut self.cutting {
            Cutting::Ts(segmenter) => segmenter.cut_at(pts),
            Cutting::Cmaf(cutter) => {
                let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
                for mut event in events {
                    event.time = cutter.extend(event.time);
                    if p.events.len() == MAX_EVENTS {
                        p.events.pop_front();
                    }
                    p.events.push_back(event);
                }
                drop(p);
                cutter.cut_at(pts)
            }
        }
        .then_some(pts);
        if lines.is_empty() {
            return;
        }
        if self.waiting.len() == MAX_WAITING_CUES {
            self.waiting.remove(0);
            counters.error(&crate::IoError::Overflow("a cue's playlist tags (too many waiting)"));
        }
        // An immediate cue: the segment after the one being filled.
        self.waiting.push(Waiting { lines, section, pts, after: self.completed + 1 });
    }

    /// The tags that go before `segment`: its cues' lines, or, inside a
    /// break, `#EXT-X-CUE-OUT-CONT`.
    fn tags_for(&mut self, segment: &Ready) -> Vec<String> {
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
            b.elapsed += (segment.duration_s * 90_000.0).round() as u64;
        }
        tags.extend(cues.into_iter().flat_map(|w| w.lines));
        tags
    }

    /// The cues whose segment is `segment`.
    fn cues_for(&mut self, segment: &Ready) -> Vec<Waiting> {
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

    /// Whether a CMAF track's init segment is out.
    fn described(&self, media: Media) -> bool {
        let p = self.stream.published.read().unwrap_or_else(PoisonError::into_inner);
        let cmaf = p.cmaf.as_ref();
        match media {
            Media::Video => cmaf.is_some_and(|c| c.video.is_some()),
            Media::Audio => cmaf.is_some_and(|c| c.audio.is_some()),
        }
    }

    /// LL-HLS: parts of the segments being filled, listed as they come
    /// with a preload hint for the next, the oldest let go.
    fn publish_parts(&mut self, parts: Vec<CmafPart>) {
        for part in parts {
            let media = part.media;
            let Cutting::Cmaf(cutter) = &self.cutting else { return };
            let Some(timescale) = cutter.timescale(media) else { continue };
            if !self.described(media) {
                self.describe(media);
            }
            let letter = if media == Media::Audio { 'a' } else { 'v' };
            let name = |n: u64| format!("{}-{letter}p{n}.m4s", self.stream.epoch);
            let (uri, next) = (name(part.number), name(part.number + 1));
            let track = usize::from(media == Media::Audio);
            let playlist = if media == Media::Audio { &mut self.audio } else { &mut self.playlist };
            playlist.push_part(uri.clone(), part.duration as f64 / f64::from(timescale), part.independent, next);
            let (text, progress): (Arc<str>, _) = (playlist.render().into(), playlist.progress());
            // The parts a playlist lists (three target durations back, the
            // target as it is now), and as many again for players still
            // fetching them.
            let keep = (6_000 * playlist.target_duration() / self.part_ms) as usize + 8;
            self.parts[track].push_back(uri.clone());
            let gone = self.parts[track].len().saturating_sub(keep);
            let gone: Vec<String> = self.parts[track].drain(..gone).collect();
            {
                let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
                p.segments.insert(uri, Bytes::from(part.bytes));
                for old in &gone {
                    p.segments.remove(old);
                }
                p.next_parts[track] = part.number + 1;
                let rendition = if media == Media::Audio { &mut p.audio } else { &mut p.main };
                rendition.playlist = Some(text);
                rendition.progress = progress;
            }
            self.stream.updates.send_modify(|n| *n += 1);
        }
    }

    /// CMAF segments, each with its track's init segment the first time.
    fn publish_cmaf(&mut self, done: Vec<CmafSegment>, counters: &OutputCounters) {
        for segment in done {
            let media = segment.media;
            let Cutting::Cmaf(cutter) = &self.cutting else { return };
            let Some(timescale) = cutter.timescale(media) else { continue };
            if !self.described(media) {
                self.describe(media);
            }
            if media == Media::Video {
                // The first video segment is time zero.
                let Cutting::Cmaf(cutter) = &self.cutting else { return };
                let zero = cutter.zero();
                let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(cmaf) = p.cmaf.as_mut().filter(|c| c.zero.is_none()) {
                    cmaf.zero = zero.map(|z| (z, segment.utc_ms));
                }
            }
            let span = (media == Media::Video).then_some(Span {
                start: segment.time,
                ticks: segment.duration,
                utc_ms: segment.utc_ms,
                discontinuity: segment.discontinuity,
            });
            let ready = Ready::cmaf(segment, timescale, &self.stream.epoch);
            self.publish(ready, counters);
            if let Some(span) = span {
                self.caption(span);
            }
        }
    }

    /// A video segment went out: its pictures' captions are decoded, and
    /// the subtitle segment of the one before it goes out.
    fn caption(&mut self, span: Span) {
        let (Cutting::Cmaf(cutter), Some(subs)) = (&mut self.cutting, &mut self.subtitles) else { return };
        subs.decode(cutter);
        subs.waiting.push_back(span);
        while self.subtitles.as_ref().is_some_and(|s| s.waiting.len() > 1) {
            self.publish_subtitle();
        }
    }

    /// The stream ended: the cues still shown end with it, and every
    /// waiting subtitle segment goes out.
    fn flush_subtitles(&mut self) {
        let (Cutting::Cmaf(cutter), Some(subs)) = (&mut self.cutting, &mut self.subtitles) else { return };
        subs.decode(cutter);
        if let Some(end) = subs.waiting.back().map(|s| s.start + s.ticks) {
            let cues = subs.decoder.flush(ticks_to_ns(end));
            subs.cues.extend(cues);
        }
        while self.subtitles.as_ref().is_some_and(|s| !s.waiting.is_empty()) {
            self.publish_subtitle();
        }
    }

    /// The oldest waiting subtitle segment, published.
    fn publish_subtitle(&mut self) {
        let (Cutting::Cmaf(cutter), Some(subs)) = (&self.cutting, &mut self.subtitles) else { return };
        let (Some(span), Some(zero)) = (subs.waiting.pop_front(), cutter.zero()) else { return };
        let segment = subs.segment(span, zero, &self.stream.epoch);
        let init = init_name_of(&self.stream.epoch, 't');
        let first = subs.elapsed <= segment.listed.duration_s;
        let init_bytes = first.then(|| Bytes::from(subs.track.init_segment()));
        {
            let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(bytes) = init_bytes {
                p.segments.insert(init.clone(), bytes);
                if let Some(cmaf) = &mut p.cmaf {
                    cmaf.text =
                        Some(TrackInfo { codec: "wvtt".into(), timescale: 90_000, size: None, audio: None, init });
                }
            }
            let SubtitleSegment { vtt, wvtt, gone, text, listed } = segment;
            p.segments.insert(vtt.0, vtt.1);
            p.segments.insert(wvtt.0, wvtt.1);
            let left = gone.len() / 2;
            for old in &gone {
                p.segments.remove(old);
            }
            p.text.list(text, listed, left);
        }
        self.stream.updates.send_modify(|n| *n += 1);
    }

    /// Publishes a CMAF track's init segment and what it says of the
    /// track.
    fn describe(&mut self, media: Media) {
        let Cutting::Cmaf(cutter) = &self.cutting else { return };
        let (Some(init), Some(codec), Some(timescale)) =
            (cutter.init_segment(media), cutter.codec(media), cutter.timescale(media))
        else {
            return;
        };
        let name = init_name(&self.stream.epoch, media);
        let info = TrackInfo {
            codec,
            timescale,
            size: cutter.size().filter(|_| media == Media::Video),
            audio: cutter.channels().filter(|_| media == Media::Audio).map(|c| (timescale, c)),
            init: name.clone(),
        };
        let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
        p.segments.insert(name, Bytes::from(init));
        let Some(cmaf) = &mut p.cmaf else { return };
        match media {
            Media::Video => cmaf.video = Some(info),
            Media::Audio => cmaf.audio = Some(info),
        }
        let codecs: Vec<String> = [&cmaf.video, &cmaf.audio].into_iter().flatten().map(|t| t.codec.clone()).collect();
        let size = cmaf.video.as_ref().and_then(|t| t.size);
        p.variant = Variant { codecs: Some(codecs.join(",")), resolution: size };
    }

    fn publish(&mut self, segment: Ready, counters: &OutputCounters) {
        if !segment.audio {
            let tags = self.tags_for(&segment);
            self.playlist.annotate(tags);
            self.completed += 1;
        }
        let size = segment.bytes.len();
        counters.sent((size / PACKET_SIZE) as u64, size);
        let (playlist, elapsed) = if segment.audio {
            (&mut self.audio, &mut self.audio_elapsed)
        } else {
            (&mut self.playlist, &mut self.elapsed)
        };
        let gone = playlist.push(segment.name.clone(), segment.duration_s, segment.utc_ms, segment.discontinuity);
        let text: Arc<str> = playlist.render().into();
        let listed = Listed {
            utc_ms: segment.utc_ms,
            start_s: *elapsed,
            duration_s: segment.duration_s,
            bytes: size,
            time: segment.time,
            ticks: segment.ticks,
        };
        *elapsed += segment.duration_s;
        let is_ts = matches!(self.cutting, Cutting::Ts(_));
        let bytes = Bytes::from(segment.bytes);
        {
            let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
            p.segments.insert(segment.name, bytes.clone());
            for old in &gone {
                p.segments.remove(old);
            }
            if segment.audio {
                p.audio.list(text, listed, gone.len());
                p.audio.progress = self.audio.progress();
            } else {
                p.main.list(text, listed, gone.len());
                p.main.progress = self.playlist.progress();
                // Cues older than the window leave with it.
                if let Some(first) = p.main.window.front().map(|l| l.time) {
                    p.events.retain(|e| e.time + e.duration.unwrap_or(0) >= first || is_ts);
                }
            }
        }
        self.stream.updates.send_modify(|n| *n += 1);
        if !is_ts {
            return;
        }
        // After the playlist is out (this is no reason to keep a player
        // waiting): each segment opens with a keyframe and its parameter
        // sets, so it shows what the stream carries now.
        let variant = stagebox_media::hls::describe(&bytes);
        let mut p = self.stream.published.write().unwrap_or_else(PoisonError::into_inner);
        if variant.codecs.is_some() {
            p.variant.codecs = variant.codecs;
        }
        if variant.resolution.is_some() {
            p.variant.resolution = variant.resolution;
        }
    }
}

/// A CMAF track's init segment's name.
fn init_name(epoch: &str, media: Media) -> String {
    init_name_of(epoch, if media == Media::Audio { 'a' } else { 'v' })
}

/// The init segment's name of track `letter` (`v`, `a`, `t`).
fn init_name_of(epoch: &str, letter: char) -> String {
    format!("{epoch}-{letter}.mp4")
}

/// Opens an HLS output's stream: nothing is published until the first
/// segment completes.
pub fn stream() -> Arc<HlsStream> {
    Arc::new(HlsStream::new())
}

/// The output's task: segments what the channel queues until the output
/// is removed, then ends the playlists.
pub async fn run(url: HlsUrl, mut rx: mpsc::Receiver<Item>, counters: Arc<OutputCounters>, stream: Arc<HlsStream>) {
    let mut packager = Packager::new(&url, stream, None);
    counters.set_state(OutputState::Running);
    while let Some(item) = rx.recv().await {
        packager.take(item, &counters);
    }
    packager.finish(&counters);
}

/// As [`run`], with `captions` decoding a CMAF output's captions into its
/// WebVTT rendition, on a thread of its own (`rx` read blocking): a
/// plugin call a picture, each up to its deadline, must not hold up the
/// async runtime.
pub fn run_blocking(
    url: HlsUrl,
    mut rx: mpsc::Receiver<Item>,
    counters: Arc<OutputCounters>,
    stream: Arc<HlsStream>,
    captions: Option<Box<dyn CaptionDecoder>>,
) {
    let mut packager = Packager::new(&url, stream, captions);
    counters.set_state(OutputState::Running);
    while let Some(item) = rx.blocking_recv() {
        packager.take(item, &counters);
    }
    packager.finish(&counters);
}

/// A ladder output's task, on a thread of its own (encoding is long work;
/// `rx` is read blocking): the channel's packets go through `transcoder`,
/// each rendition's into a packager of its own on `renditions` (in the
/// transcoder's order); with a `passthrough` stream, the packets as they
/// came into one more. Cues cut every one of them at their splice points
/// (the transcoder puts a keyframe there). The caption decoder goes to
/// the pass-through, else to the first rendition. A transcoder that fails
/// is stopped, its error counted; its renditions' playlists end there.
pub fn run_ladder(
    url: HlsUrl,
    mut rx: mpsc::Receiver<Item>,
    counters: Arc<OutputCounters>,
    passthrough: Option<Arc<HlsStream>>,
    renditions: Vec<Arc<HlsStream>>,
    mut captions: Option<Box<dyn CaptionDecoder>>,
    transcoder: Box<dyn Transcoder>,
) {
    let mut source = passthrough.map(|s| Packager::new(&url, s, captions.take()));
    let mut ladder: Vec<Packager> = renditions.into_iter().map(|s| Packager::new(&url, s, captions.take())).collect();
    let mut transcoder = Some(transcoder);
    counters.set_state(OutputState::Running);
    let fail = |e: crate::transcode::TranscodeError| {
        tracing::warn!("the encoding ladder stopped: {e}");
        counters.error(e.as_ref());
    };
    while let Some(item) = rx.blocking_recv() {
        match item {
            Item::Packets(datagram) => {
                let now = now_ms();
                if let Some(p) = &mut source {
                    p.push(&datagram, now, &counters);
                }
                let Some(t) = &mut transcoder else { continue };
                match t.push(&datagram) {
                    Ok(outs) => {
                        for (p, bytes) in ladder.iter_mut().zip(outs) {
                            p.push(&bytes, now, &counters);
                        }
                    }
                    Err(e) => {
                        fail(e);
                        transcoder = None;
                        // The renditions end here; the pass-through goes on.
                        for p in ladder.drain(..) {
                            p.finish(&counters);
                        }
                    }
                }
            }
            Item::Cue(cue) => {
                if let Some(t) = &mut transcoder {
                    t.cut_at(cue.pts);
                }
                for p in source.iter_mut().chain(&mut ladder) {
                    p.cue(cue.clone(), &counters);
                }
            }
        }
    }
    if let Some(mut t) = transcoder {
        match t.finish() {
            Ok(outs) => {
                let now = now_ms();
                for (p, bytes) in ladder.iter_mut().zip(outs) {
                    p.push(&bytes, now, &counters);
                }
            }
            Err(e) => fail(e),
        }
    }
    for p in source.into_iter().chain(ladder) {
        p.finish(&counters);
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tai_pts_is_placed_at_the_nearest_wrap_and_made_utc() {
        // 2026-11-25 00:00:00 TAI, and a PTS 2 s before it.
        let now_ns: u64 = 1_795_564_800_000_000_000;
        let ticks = now_ns / 1_000_000_000 * 90_000;
        let pts = (ticks - 180_000) % WRAP;
        let offset = 37_000_000_000;
        assert_eq!(utc_ms_of_pts(pts, now_ns, offset), 1_795_564_800_000 - 2_000 - 37_000);
        // Just past a wrap: a PTS from before it is placed before it.
        let after_wrap = (ticks / WRAP + 1) * WRAP + 900;
        let now = (u128::from(after_wrap) * 1_000_000_000 / 90_000) as u64;
        let before = WRAP - 900;
        let expected = ((after_wrap - 1800) as i128 * 1_000_000_000 / 90_000 / 1_000_000) as i64;
        assert_eq!(utc_ms_of_pts(before, now, 0), expected);
    }
}
