//! Cutting a live transport stream into CMAF segments, one track a file:
//! the HLS segmenter picks the cuts (keyframes, the target duration,
//! splice points) and each cut ends one fMP4 segment of the video track
//! (the program's first H.264 stream) and, at the first audio frame at or
//! after it, one of the audio track (its first ADTS AAC stream). HLS
//! (fMP4) and DASH list the same segments.
//!
//! With parts asked for (LL-HLS), each track's segment is made of parts of
//! at most the part target: a video part is cut before the access unit
//! that would make it longer, an audio part before the PES that would;
//! each part is a fragment (`moof` + `mdat`) handed out as soon as it is
//! whole, and the segment is its parts end to end.
//!
//! Times are presentation times on an extended timeline (no 33-bit wrap):
//! 90 kHz for video, the sample rate for audio. A video segment starts at
//! its keyframe's PTS; an audio segment at its first frame, which is
//! within one PES of the video cut.

use crate::captions::sei::cc_data_from_h264;
use crate::fmp4::{AacTrack, AvcTrack, Fmp4Error, TIMESCALE, adts_frames, adts_header, adts_split};
use crate::hls::{Segment, Segmenter};
use crate::ts::{
    Demuxer, Event, PACKET_SIZE, Packet, Pes, STREAM_TYPE_AAC, STREAM_TYPE_H264, Timeline, WRAP, ticks_forward,
};
use std::collections::VecDeque;

/// Video segments whose audio is still awaited, at most.
const MAX_CUTS: usize = 64;

/// Which track a segment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    /// The H.264 track.
    Video,
    /// The AAC track.
    Audio,
}

/// One finished CMAF segment (`moof` + `mdat`).
#[derive(Debug, Clone, PartialEq)]
pub struct CmafSegment {
    /// Its track.
    pub media: Media,
    /// The video segment it belongs with (the segmenter's sequence
    /// number): a video segment and the audio cut with it share one.
    pub sequence: u64,
    /// The PTS of its video keyframe (90 kHz, 33 bits), for placing cues.
    pub pts: u64,
    /// Where it starts, in its track's timescale, on the extended
    /// timeline.
    pub time: u64,
    /// How long it lasts, in its track's timescale.
    pub duration: u64,
    /// When its video segment's first packet arrived (ms since 1970 UTC).
    pub utc_ms: i64,
    /// Its time base does not follow the segment before it.
    pub discontinuity: bool,
    /// The fragment.
    pub bytes: Vec<u8>,
}

/// One part of a segment being filled (LL-HLS): a fragment of its track.
#[derive(Debug, Clone, PartialEq)]
pub struct CmafPart {
    /// Its track.
    pub media: Media,
    /// Its number on its track, from 0 (parts are named by it, so the
    /// next one's name is known before it exists).
    pub number: u64,
    /// How long it lasts, in its track's timescale.
    pub duration: u64,
    /// It starts with a keyframe (audio parts always do).
    pub independent: bool,
    /// The fragment.
    pub bytes: Vec<u8>,
}

/// What a track's parts need between cuts.
#[derive(Debug, Default)]
struct Parts {
    /// The open segment's parts so far, end to end.
    done: Vec<u8>,
    /// Where they start and end, in the track's timescale.
    span: Option<(u64, u64)>,
    /// The next part's number.
    next: u64,
}

impl CmafSegment {
    /// Its duration in seconds, for a track of `timescale`.
    pub fn seconds(&self, timescale: u32) -> f64 {
        self.duration as f64 / f64::from(timescale.max(1))
    }
}

/// What a finished video segment passes on to the audio cut after it.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// The next video segment's first PTS (90 kHz, 33 bits): audio from
    /// there on belongs to the next segment.
    boundary: u64,
    sequence: u64,
    pts: u64,
    utc_ms: i64,
    discontinuity: bool,
}

/// Cuts a transport stream into CMAF segments; see the module docs.
pub struct Cutter {
    segmenter: Segmenter,
    demux: Demuxer,
    video_pid: Option<u16>,
    audio_pid: Option<u16>,
    video: AvcTrack,
    audio: AacTrack,
    /// Extends the video segments' PTS.
    timeline: Timeline,
    /// The first video segment's extended PTS: time zero of the stream.
    zero: Option<u64>,
    /// Video segments whose audio is not cut yet, oldest first.
    cuts: VecDeque<Cut>,
    /// Access units and frames refused (damage), counted.
    refused: u64,
    /// The segment duration aimed at, 90 kHz.
    segment_ticks: u64,
    /// With captions kept: the cc_data of the open segment's pictures,
    /// by extended PTS.
    captions: Option<Vec<(u64, Vec<u8>)>>,
    /// The cc_data of finished segments, in presentation order.
    ready_captions: Vec<(u64, Vec<u8>)>,
    /// LL-HLS: the part target (90 kHz), once asked for.
    part_target: Option<u64>,
    /// Each track's parts: video, audio.
    parts: [Parts; 2],
    /// Parts whole since the last look.
    ready_parts: Vec<CmafPart>,
    /// The shortest step between two access units' DTS: a frame.
    frame: Option<u64>,
    last_dts: Option<u64>,
}

impl Cutter {
    /// A cutter aiming at segments of `target_s` seconds.
    pub fn new(target_s: f64) -> Cutter {
        Cutter {
            segmenter: Segmenter::new(target_s),
            demux: Demuxer::new(),
            video_pid: None,
            audio_pid: None,
            video: AvcTrack::new(),
            audio: AacTrack::new(),
            timeline: Timeline::default(),
            zero: None,
            cuts: VecDeque::new(),
            refused: 0,
            segment_ticks: (target_s.max(0.0) * f64::from(TIMESCALE)) as u64,
            captions: None,
            ready_captions: Vec::new(),
            part_target: None,
            parts: [Parts::default(), Parts::default()],
            ready_parts: Vec::new(),
            frame: None,
            last_dts: None,
        }
    }

    /// Cuts each track's segments into parts of at most `target_s`
    /// seconds (LL-HLS), handed out by [`Cutter::take_parts`].
    pub fn parts(&mut self, target_s: f64) {
        self.part_target = Some((target_s.max(0.0) * f64::from(TIMESCALE)) as u64);
    }

    /// The parts whole since the last call, in order (those of a segment
    /// before the segment is handed out by `push`).
    pub fn take_parts(&mut self) -> Vec<CmafPart> {
        std::mem::take(&mut self.ready_parts)
    }

    /// Keeps the cc_data (A/53, in the H.264 SEI) of each picture, for
    /// [`Cutter::take_captions`].
    pub fn keep_captions(&mut self) {
        self.captions.get_or_insert_with(Vec::new);
    }

    /// The cc_data of the pictures of the segments finished so far, each
    /// with its PTS (90 kHz, extended), in presentation order (as A/53
    /// wants it decoded): a segment starts with a keyframe and holds whole
    /// closed GOPs, so its pictures are put in order when it ends.
    pub fn take_captions(&mut self) -> Vec<(u64, Vec<u8>)> {
        std::mem::take(&mut self.ready_captions)
    }

    /// Adds transport packets that arrived at `utc_ms`; returns the
    /// segments they complete, each video segment before its audio.
    pub fn push(&mut self, packets: &[u8], utc_ms: i64) -> Vec<CmafSegment> {
        let mut done = Vec::new();
        for packet in packets.chunks_exact(PACKET_SIZE) {
            // An access unit the demuxer hands over now ended before this
            // packet: it belongs to the segment open before the packet,
            // whatever the segmenter makes of the packet.
            let open = self.segmenter.open_pts().is_some();
            for event in self.demux.push(packet) {
                if let Event::Pes { pid, pes } = event {
                    self.pes(pid, &pes, open, utc_ms, &mut done);
                }
            }
            for segment in self.segmenter.push(packet, utc_ms) {
                let next_dts = self.dts_at(packet);
                self.video_cut(segment, next_dts, &mut done);
            }
        }
        done
    }

    /// Ends the stream: the last video segment and the audio after the
    /// last cut.
    pub fn finish(&mut self) -> Vec<CmafSegment> {
        let mut done = Vec::new();
        let open = self.segmenter.open_pts().is_some();
        for event in self.demux.finish() {
            if let Event::Pes { pid, pes } = event {
                self.pes(pid, &pes, open, 0, &mut done);
            }
        }
        if let Some(segment) = self.segmenter.finish() {
            self.video_cut(segment, None, &mut done);
        }
        while let Some(cut) = self.cuts.pop_front() {
            self.audio_cut(cut, &mut done);
        }
        done
    }

    /// See [`Segmenter::cut_at`].
    pub fn cut_at(&mut self, pts: u64) -> bool {
        self.segmenter.cut_at(pts)
    }

    /// The extended value of a 90 kHz PTS, on the video segments'
    /// timeline (for cues).
    pub fn extend(&self, pts: u64) -> u64 {
        let mut timeline = self.timeline;
        timeline.extend(pts)
    }

    /// Time zero: the first video segment's extended PTS (90 kHz).
    pub fn zero(&self) -> Option<u64> {
        self.zero
    }

    /// A track's initialisation segment, once it can be described.
    pub fn init_segment(&self, media: Media) -> Option<Vec<u8>> {
        match media {
            Media::Video => self.video.init_segment(),
            Media::Audio => self.audio.init_segment(),
        }
    }

    /// A track's RFC 6381 codec (`avc1.64001f`, `mp4a.40.2`), once known.
    pub fn codec(&self, media: Media) -> Option<String> {
        match media {
            Media::Video => self.video.codec(),
            Media::Audio => self.audio.codec(),
        }
    }

    /// A track's timescale, once known.
    pub fn timescale(&self, media: Media) -> Option<u32> {
        match media {
            Media::Video => Some(TIMESCALE),
            Media::Audio => self.audio.rate(),
        }
    }

    /// The picture size, once an SPS was seen.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.video.size()
    }

    /// The audio's channel_configuration, once a frame was seen.
    pub fn channels(&self) -> Option<u8> {
        self.audio.channels()
    }

    /// Access units and audio PES refused so far (not H.264 or ADTS as
    /// expected, or damaged).
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// One PES of the stream.
    fn pes(&mut self, pid: u16, pes: &Pes, open: bool, utc_ms: i64, done: &mut Vec<CmafSegment>) {
        let stream_type = self.demux.pmts().values().flat_map(|p| &p.streams).find(|s| s.pid == pid);
        let Some(stream_type) = stream_type.map(|s| s.stream_type) else { return };
        let Some(pts) = pes.pts else { return };
        if stream_type == STREAM_TYPE_H264 && *self.video_pid.get_or_insert(pid) == pid {
            // Before the first keyframe there is no segment to go into.
            if !open {
                return;
            }
            let dts = pes.dts.unwrap_or(pts);
            self.video_part_before(dts);
            if self.video.push(&pes.payload, pts, dts).is_err() {
                self.refused += 1;
            }
            let at = self.extend(pts);
            if let Some(captions) = &mut self.captions {
                let cc = cc_data_from_h264(&pes.payload);
                if !cc.is_empty() {
                    captions.push((at, cc));
                }
            }
        } else if stream_type == STREAM_TYPE_AAC && *self.audio_pid.get_or_insert(pid) == pid {
            self.audio_pes(pes, pts, utc_ms, done);
        }
    }

    /// One audio PES: it ends the audio of each cut it is at or past, then
    /// joins the audio being gathered (from the first video segment's
    /// start on).
    fn audio_pes(&mut self, pes: &Pes, pts: u64, utc_ms: i64, done: &mut Vec<CmafSegment>) {
        let at_or_after = |from: u64| ticks_forward(from, pts) < WRAP / 2;
        while let Some(cut) = self.cuts.front().copied() {
            if !at_or_after(cut.boundary) {
                break;
            }
            self.cuts.pop_front();
            self.audio_cut(cut, done);
        }
        let started = self.zero.is_some() || self.segmenter.open_pts().is_some_and(at_or_after);
        if !started {
            return;
        }
        // With parts, a frame at a time (a PES may hold more than a part),
        // each at its own time; otherwise the PES whole.
        let rate = adts_header(&pes.payload).map(|c| c.rate());
        let units: Vec<(&[u8], u64)> = match (self.part_target, rate) {
            (Some(_), Some(rate)) => adts_split(&pes.payload)
                .into_iter()
                .enumerate()
                .map(|(i, frame)| (frame, (pts + i as u64 * 1024 * 90_000 / u64::from(rate)) % WRAP))
                .collect(),
            _ => vec![(&pes.payload[..], pts)],
        };
        for (es, pts) in units {
            self.audio_part_before(es);
            self.audio_unit(es, pts, utc_ms, done);
        }
    }

    /// Adds audio (ADTS frames) at `pts` to the audio waiting.
    fn audio_unit(&mut self, es: &[u8], pts: u64, utc_ms: i64, done: &mut Vec<CmafSegment>) {
        match self.audio.push(es, pts) {
            Ok(()) => {}
            Err(Fmp4Error::Gap) => {
                // Damage: what waits becomes a segment of its own, and the
                // audio goes on after the gap.
                let cut = self.cuts.front().copied().unwrap_or(Cut {
                    boundary: pts,
                    sequence: self.segmenter_sequence(),
                    pts,
                    utc_ms,
                    discontinuity: false,
                });
                self.audio_cut(cut, done);
                if self.audio.push(es, pts).is_err() {
                    self.refused += 1;
                }
            }
            Err(_) => self.refused += 1,
        }
    }

    /// The sequence number of the video segment being filled.
    fn segmenter_sequence(&self) -> u64 {
        self.cuts.back().map_or(0, |c| c.sequence + 1)
    }

    /// The video segment `segment` closed: its fragment, and a cut for the
    /// audio.
    fn video_cut(&mut self, segment: Segment, next_dts: Option<u64>, done: &mut Vec<CmafSegment>) {
        let duration = (segment.duration * f64::from(TIMESCALE)).round() as u64;
        // Cuts wait for audio: none without an AAC stream, and never more
        // than a minute's worth (audio that stopped).
        if self.audio_pid.is_none() {
            self.cuts.clear();
        } else if self.cuts.len() >= MAX_CUTS
            && let Some(cut) = self.cuts.pop_front()
        {
            self.audio_cut(cut, done);
        }
        self.cuts.push_back(Cut {
            boundary: (segment.pts + duration) % WRAP,
            sequence: segment.sequence,
            pts: segment.pts,
            utc_ms: segment.utc_ms,
            discontinuity: segment.discontinuity,
        });
        let time = self.timeline.extend(segment.pts);
        self.zero.get_or_insert(time);
        if let Some(captions) = &mut self.captions {
            captions.sort_by_key(|(pts, _)| *pts);
            self.ready_captions.append(captions);
        }
        let Some(bytes) = self.video_fragment(next_dts) else { return };
        done.push(CmafSegment {
            media: Media::Video,
            sequence: segment.sequence,
            pts: segment.pts,
            time,
            duration,
            utc_ms: segment.utc_ms,
            discontinuity: segment.discontinuity,
            bytes,
        });
    }

    /// The audio gathered for `cut`'s video segment, as its segment.
    fn audio_cut(&mut self, cut: Cut, done: &mut Vec<CmafSegment>) {
        // With parts, the segment spans its parts (most already out);
        // otherwise the frames waiting.
        let span = self.audio.span();
        let Some(bytes) = self.audio_fragment() else { return };
        let span = match self.part_target {
            Some(_) => self.parts[1].span.take(),
            None => span,
        };
        let Some((first, end)) = span else { return };
        done.push(CmafSegment {
            media: Media::Audio,
            sequence: cut.sequence,
            pts: cut.pts,
            time: first,
            duration: end.saturating_sub(first),
            utc_ms: cut.utc_ms,
            discontinuity: cut.discontinuity,
            bytes,
        });
    }

    /// LL-HLS: the video waiting becomes a part when the access unit at
    /// `dts` would take it past the part target.
    fn video_part_before(&mut self, dts: u64) {
        if let Some(last) = self.last_dts.replace(dts) {
            let step = ticks_forward(last, dts);
            if step > 0 && step < WRAP / 2 {
                self.frame = Some(self.frame.map_or(step, |f| f.min(step)));
            }
        }
        let Some(target) = self.part_target else { return };
        let Some((span, _)) = self.video.pending(dts) else { return };
        let frame = self.frame.unwrap_or(0);
        if span + frame > self.part_limit(target, frame) {
            let _ = self.video_fragment_part(Some(dts));
        }
    }

    /// The longest a video part may be: the part target, or less so that
    /// a segment of the target duration is cut into equal parts of whole
    /// pictures (2 s at 25 fps with a 0.5 s target: five parts of ten
    /// pictures, not four of twelve and a last of two, which players
    /// handle badly).
    fn part_limit(&self, target: u64, frame: u64) -> u64 {
        if frame == 0 {
            return target;
        }
        let most = (target / frame).max(1);
        let pictures = ((self.segment_ticks + frame / 2) / frame).max(1);
        let parts = pictures.div_ceil(most);
        pictures.div_ceil(parts) * frame
    }

    /// LL-HLS: the audio waiting becomes a part when the PES `es` would
    /// take it past the part target.
    fn audio_part_before(&mut self, es: &[u8]) {
        let (Some(target), Some((first, end)), Some(rate)) = (self.part_target, self.audio.span(), self.audio.rate())
        else {
            return;
        };
        let adding = adts_frames(es) as u64 * 1024;
        if (end - first + adding) * u64::from(TIMESCALE) > target * u64::from(rate) {
            let _ = self.audio_fragment_part();
        }
    }

    /// The video waiting as a part, if any (and parts are asked for): its
    /// bytes, kept for the segment too.
    fn video_fragment_part(&mut self, next_dts: Option<u64>) -> Option<Vec<u8>> {
        // Without a next DTS (the stream's end) the span is unknown: 0.
        let independent = self.video.pending(next_dts.unwrap_or(0)).is_some_and(|(_, sync)| sync);
        let span = next_dts.and_then(|d| self.video.pending(d)).map(|(span, _)| span);
        let bytes = self.video.fragment(next_dts)?;
        let duration = span.unwrap_or(0);
        Some(self.part(Media::Video, duration, independent, bytes))
    }

    fn audio_fragment_part(&mut self) -> Option<Vec<u8>> {
        let (first, end) = self.audio.span()?;
        let bytes = self.audio.fragment()?;
        let span = &mut self.parts[1].span;
        *span = Some((span.map_or(first, |(start, _)| start), end));
        Some(self.part(Media::Audio, end - first, true, bytes))
    }

    /// Hands out a part and keeps its bytes for its segment.
    fn part(&mut self, media: Media, duration: u64, independent: bool, bytes: Vec<u8>) -> Vec<u8> {
        let parts = &mut self.parts[usize::from(media == Media::Audio)];
        parts.done.extend_from_slice(&bytes);
        self.ready_parts.push(CmafPart { media, number: parts.next, duration, independent, bytes: bytes.clone() });
        parts.next += 1;
        bytes
    }

    /// The open video segment's last fragment, and with parts the segment
    /// whole: its parts end to end.
    fn video_fragment(&mut self, next_dts: Option<u64>) -> Option<Vec<u8>> {
        if self.part_target.is_none() {
            return self.video.fragment(next_dts);
        }
        let _ = self.video_fragment_part(next_dts);
        let whole = std::mem::take(&mut self.parts[0].done);
        (!whole.is_empty()).then_some(whole)
    }

    /// The same for the audio.
    fn audio_fragment(&mut self) -> Option<Vec<u8>> {
        if self.part_target.is_none() {
            return self.audio.fragment();
        }
        let _ = self.audio_fragment_part();
        let whole = std::mem::take(&mut self.parts[1].done);
        (!whole.is_empty()).then_some(whole)
    }

    /// The DTS of the video PES that `packet` starts, if it starts one:
    /// the next fragment's first, which ends the last sample of this one.
    fn dts_at(&self, packet: &[u8]) -> Option<u64> {
        let bytes = <&[u8; PACKET_SIZE]>::try_from(packet).ok()?;
        let packet = Packet::parse(bytes).ok()?;
        if !packet.unit_start || Some(packet.pid) != self.video_pid {
            return None;
        }
        let pes = Pes::parse(packet.payload).ok()?;
        pes.dts.or(pes.pts)
    }
}
