//! A live DASH manifest (ISO/IEC 23009-1, DASH-IF live profile): a
//! dynamic MPD of one Period whose representations list their CMAF
//! segments with a `SegmentTemplate` (`$Time$`) and `SegmentTimeline`,
//! SCTE-35 cues as `EventStream`s, and the server's clock as `UTCTiming`
//! so players agree with it on where the live edge is.
//!
//! MPD time zero is the stream's first video segment: each
//! representation's `presentationTimeOffset` is that segment's start in
//! its own timescale, and `availabilityStartTime` is when it was
//! received (UTC).

use crate::hls::iso8601;
use std::fmt::Write;

/// One representation: a track of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct Representation {
    /// Unique in the MPD.
    pub id: String,
    /// RFC 6381 (`avc1.64001f`, `mp4a.40.2`).
    pub codecs: String,
    /// Peak bits per second.
    pub bandwidth: u64,
    /// Picture size (video).
    pub size: Option<(u32, u32)>,
    /// Sample rate and channel_configuration (audio).
    pub audio: Option<(u32, u8)>,
    /// Ticks per second of its times.
    pub timescale: u32,
    /// Time zero in its timescale.
    pub presentation_time_offset: u64,
    /// The init segment's URL, relative to the MPD.
    pub initialization: String,
    /// The segments' URL template, relative to the MPD, with `$Time$`.
    pub media: String,
    /// Each segment in the window, oldest first: start and duration.
    pub segments: Vec<(u64, u64)>,
}

/// One event of an `EventStream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `urn:scte:scte35:2014:xml+bin` or `urn:scte:scte35:2013:xml`.
    pub scheme: String,
    /// 90 kHz, on the video's extended timeline.
    pub time: u64,
    /// 90 kHz.
    pub duration: Option<u64>,
    /// The event's id.
    pub id: u32,
    /// The element's content (XML, trusted: made by the SCTE-35 policy).
    pub body: String,
}

/// What the MPD says; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mpd {
    /// When time zero was received, ms since 1970 UTC.
    pub availability_start_ms: i64,
    /// Now, ms since 1970 UTC: `publishTime` and the `UTCTiming` value.
    pub now_ms: i64,
    /// How far back a player may seek, seconds (the DVR window).
    pub time_shift_s: f64,
    /// The segment duration aimed at, seconds: how often the MPD changes.
    pub segment_s: f64,
    /// The longest segment, seconds.
    pub max_segment_s: f64,
    /// Video representations (one adaptation set).
    pub video: Vec<Representation>,
    /// Audio representations (one adaptation set).
    pub audio: Vec<Representation>,
    /// Caption representations (`wvtt`; one adaptation set).
    pub text: Vec<Representation>,
    /// Time zero on the 90 kHz timeline of `events`.
    pub events_zero: u64,
    /// SCTE-35 events in the window.
    pub events: Vec<Event>,
    /// The stream ended: the MPD becomes static-like (no more updates).
    pub ended: bool,
}

/// `PT12.345S`.
fn duration(seconds: f64) -> String {
    format!("PT{:.3}S", seconds.max(0.0))
}

/// Text for an XML attribute value.
fn attr(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Mpd {
    /// The MPD's text.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = write!(
            o,
            r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:scte35="http://www.scte.org/schemas/35/2016" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic" availabilityStartTime="{}" publishTime="{}" minBufferTime="{}" timeShiftBufferDepth="{}" maxSegmentDuration="{}" suggestedPresentationDelay="{}""#,
            iso8601(self.availability_start_ms),
            iso8601(self.now_ms),
            duration(self.segment_s),
            duration(self.time_shift_s),
            duration(self.max_segment_s),
            duration(3.0 * self.segment_s),
        );
        if !self.ended {
            let _ = write!(o, r#" minimumUpdatePeriod="{}""#, duration(self.segment_s));
        }
        let _ = writeln!(o, ">");
        let _ = writeln!(o, r#"  <Period id="0" start="PT0S">"#);
        self.event_streams(&mut o);
        let sets = [
            ("video", "video/mp4", &self.video),
            ("audio", "audio/mp4", &self.audio),
            ("text", "application/mp4", &self.text),
        ];
        for (id, (kind, mime, list)) in sets.into_iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                r#"    <AdaptationSet id="{}" contentType="{kind}" mimeType="{mime}" segmentAlignment="true" startWithSAP="1">"#,
                id + 1
            );
            if kind == "text" {
                // Captions of the programme, in its language (unknown).
                let _ = writeln!(o, r#"      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="caption"/>"#);
            }
            for r in list {
                representation(&mut o, r);
            }
            let _ = writeln!(o, "    </AdaptationSet>");
        }
        let _ = writeln!(o, "  </Period>");
        let _ = writeln!(
            o,
            r#"  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="{}"/>"#,
            iso8601(self.now_ms)
        );
        let _ = writeln!(o, "</MPD>");
        o
    }

    /// One `EventStream` per scheme, 90 kHz.
    fn event_streams(&self, o: &mut String) {
        let mut schemes: Vec<&str> = self.events.iter().map(|e| e.scheme.as_str()).collect();
        schemes.sort_unstable();
        schemes.dedup();
        for scheme in schemes {
            let _ = writeln!(
                o,
                r#"    <EventStream schemeIdUri="{}" timescale="90000" presentationTimeOffset="{}">"#,
                attr(scheme),
                self.events_zero
            );
            for e in self.events.iter().filter(|e| e.scheme == scheme) {
                let _ = write!(o, r#"      <Event presentationTime="{}""#, e.time);
                if let Some(d) = e.duration {
                    let _ = write!(o, r#" duration="{d}""#);
                }
                let _ = writeln!(o, r#" id="{}">{}</Event>"#, e.id, e.body);
            }
            let _ = writeln!(o, "    </EventStream>");
        }
    }
}

fn representation(o: &mut String, r: &Representation) {
    let _ = write!(
        o,
        r#"      <Representation id="{}" codecs="{}" bandwidth="{}""#,
        attr(&r.id),
        attr(&r.codecs),
        r.bandwidth.max(1)
    );
    if let Some((w, h)) = r.size {
        let _ = write!(o, r#" width="{w}" height="{h}""#);
    }
    if let Some((rate, _)) = r.audio {
        let _ = write!(o, r#" audioSamplingRate="{rate}""#);
    }
    let _ = writeln!(o, ">");
    if let Some((_, channels)) = r.audio {
        let _ = writeln!(
            o,
            r#"        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="{channels}"/>"#
        );
    }
    let _ = writeln!(
        o,
        r#"        <SegmentTemplate timescale="{}" presentationTimeOffset="{}" initialization="{}" media="{}">"#,
        r.timescale,
        r.presentation_time_offset,
        attr(&r.initialization),
        attr(&r.media)
    );
    let _ = writeln!(o, "          <SegmentTimeline>");
    for (t, d, repeat) in runs(&r.segments) {
        let _ = write!(o, r#"            <S t="{t}" d="{d}""#);
        if repeat > 0 {
            let _ = write!(o, r#" r="{repeat}""#);
        }
        let _ = writeln!(o, "/>");
    }
    let _ = writeln!(o, "          </SegmentTimeline>");
    let _ = writeln!(o, "        </SegmentTemplate>");
    let _ = writeln!(o, "      </Representation>");
}

/// Segments as `S` elements: a run of back-to-back segments of one
/// duration is one element with `r` repeats.
fn runs(segments: &[(u64, u64)]) -> Vec<(u64, u64, u64)> {
    let mut out: Vec<(u64, u64, u64)> = Vec::new();
    for &(t, d) in segments {
        match out.last_mut() {
            Some((start, dur, repeat)) if *dur == d && *start + *dur * (*repeat + 1) == t => *repeat += 1,
            _ => out.push((t, d, 0)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_back_segments_of_one_duration_repeat() {
        let segments = [(100, 10), (110, 10), (120, 10), (130, 12), (150, 12), (162, 12)];
        assert_eq!(runs(&segments), vec![(100, 10, 2), (130, 12, 0), (150, 12, 1)], "a gap starts a new S");
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn the_mpd_names_its_representations_and_events() {
        let video = Representation {
            id: "hd".into(),
            codecs: "avc1.64001f".into(),
            bandwidth: 3_000_000,
            size: Some((1280, 720)),
            audio: None,
            timescale: 90_000,
            presentation_time_offset: 900,
            initialization: "hd/x-v.mp4".into(),
            media: "hd/x-v$Time$.m4s".into(),
            segments: vec![(900, 180_000), (180_900, 180_000)],
        };
        let mpd = Mpd {
            availability_start_ms: 0,
            now_ms: 4000,
            time_shift_s: 60.0,
            segment_s: 2.0,
            max_segment_s: 2.0,
            video: vec![video],
            audio: Vec::new(),
            text: Vec::new(),
            events_zero: 900,
            events: vec![Event {
                scheme: "urn:scte:scte35:2014:xml+bin".into(),
                time: 90_900,
                duration: Some(2_700_000),
                id: 7,
                body: "<scte35:Signal/>".into(),
            }],
            ended: false,
        };
        let text = mpd.render();
        for part in [
            r#"type="dynamic" availabilityStartTime="1970-01-01T00:00:00.000Z" publishTime="1970-01-01T00:00:04.000Z""#,
            r#"timeShiftBufferDepth="PT60.000S""#,
            r#"minimumUpdatePeriod="PT2.000S""#,
            r#"<EventStream schemeIdUri="urn:scte:scte35:2014:xml+bin" timescale="90000" presentationTimeOffset="900">"#,
            r#"<Event presentationTime="90900" duration="2700000" id="7"><scte35:Signal/></Event>"#,
            r#"<Representation id="hd" codecs="avc1.64001f" bandwidth="3000000" width="1280" height="720">"#,
            r#"presentationTimeOffset="900" initialization="hd/x-v.mp4" media="hd/x-v$Time$.m4s""#,
            r#"<S t="900" d="180000" r="1"/>"#,
            r#"<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="1970-01-01T00:00:04.000Z"/>"#,
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(!text.contains("audio"), "no audio set without audio: {text}");
    }
}
