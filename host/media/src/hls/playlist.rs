//! A live HLS media playlist (RFC 8216): a sliding window of segments with
//! their `EXT-X-PROGRAM-DATE-TIME`, the media (and discontinuity) sequence
//! moving on as old segments leave, tags placed before a segment (the
//! SCTE-35 plugin's cue tags), and `EXT-X-ENDLIST` when the stream ends.
//! With parts announced, the low-latency extensions (RFC 8216bis §4.4.4.9
//! and §4.4.5.2–3): `EXT-X-PART` for the partial segments of the last
//! three target durations and of the segment being filled, a
//! `EXT-X-PRELOAD-HINT` for the part that comes next, and the
//! `EXT-X-SERVER-CONTROL` and `EXT-X-PART-INF` that tell players the server
//! holds playlist requests until they can be answered.

use crate::calendar::civil_from_days;
use std::collections::VecDeque;
use std::fmt::Write;

/// One partial segment (LL-HLS).
#[derive(Debug, Clone, PartialEq)]
struct Part {
    uri: String,
    duration: f64,
    /// It starts with a picture a decoder can start on.
    independent: bool,
}

/// One segment in the playlist.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    uri: String,
    duration: f64,
    utc_ms: i64,
    discontinuity: bool,
    /// Lines written before the segment (cue tags).
    tags: Vec<String>,
    /// Its parts, in order (LL-HLS).
    parts: Vec<Part>,
}

/// A live media playlist; see the module docs.
#[derive(Debug, Clone)]
pub struct MediaPlaylist {
    /// Segments kept: the DVR depth.
    window: usize,
    target_s: u64,
    entries: VecDeque<Entry>,
    /// The media sequence number of the first entry.
    first: u64,
    /// Discontinuities that left the window.
    discontinuities: u64,
    ended: bool,
    /// Tags waiting for the next segment.
    tags: Vec<String>,
    /// The initialisation segment's URI (fMP4 segments).
    map: Option<String>,
    /// LL-HLS: the part target in seconds, once parts are announced.
    part_target: Option<f64>,
    /// The parts of the segment being filled.
    open: Vec<Part>,
    /// The URI of the part to come (`EXT-X-PRELOAD-HINT`).
    hint: Option<String>,
}

impl MediaPlaylist {
    /// A playlist keeping the last `window` segments (at least 1), for
    /// segments that aim at `target_s` seconds.
    pub fn new(window: usize, target_s: u64) -> MediaPlaylist {
        MediaPlaylist {
            window: window.max(1),
            target_s,
            entries: VecDeque::new(),
            first: 0,
            discontinuities: 0,
            ended: false,
            tags: Vec::new(),
            map: None,
            part_target: None,
            open: Vec::new(),
            hint: None,
        }
    }

    /// Announces partial segments of at most `target_s` seconds (LL-HLS):
    /// see [`MediaPlaylist::push_part`].
    pub fn parts(&mut self, target_s: f64) {
        self.part_target = Some(target_s);
    }

    /// Adds a part of the segment being filled: its URI, its duration in
    /// seconds, whether a decoder can start on it, and the URI of the part
    /// that will follow it (the preload hint).
    pub fn push_part(&mut self, uri: impl Into<String>, duration: f64, independent: bool, next: impl Into<String>) {
        self.open.push(Part { uri: uri.into(), duration, independent });
        self.hint = Some(next.into());
    }

    /// `EXT-X-TARGETDURATION` now, in seconds.
    pub fn target_duration(&self) -> u64 {
        self.target_s
    }

    /// The media sequence number of the segment being filled, and how
    /// many of its parts are listed: what a blocking reload
    /// (`_HLS_msn`, `_HLS_part`) waits for.
    pub fn progress(&self) -> (u64, usize) {
        (self.first + self.entries.len() as u64, self.open.len())
    }

    /// Segments are fMP4, with their initialisation segment at `uri`
    /// (`EXT-X-MAP`, compatibility version 7).
    pub fn map(&mut self, uri: impl Into<String>) {
        self.map = Some(uri.into());
    }

    /// Adds the next segment: its URI (relative to the playlist), its
    /// duration in seconds, its first packet's time in ms since the Unix
    /// epoch (UTC), and whether its time base breaks from the one before.
    /// Returns the URIs of the segments that left the window, for the
    /// caller to delete. The target duration grows to cover the segment if
    /// it must, and never shrinks (RFC 8216 §6.2.1).
    pub fn push(&mut self, uri: impl Into<String>, duration: f64, utc_ms: i64, discontinuity: bool) -> Vec<String> {
        self.target_s = self.target_s.max(duration.round() as u64);
        let tags = std::mem::take(&mut self.tags);
        let parts = std::mem::take(&mut self.open);
        self.entries.push_back(Entry { uri: uri.into(), duration, utc_ms, discontinuity, tags, parts });
        let mut gone = Vec::new();
        while self.entries.len() > self.window {
            if let Some(old) = self.entries.pop_front() {
                gone.push(old.uri);
                self.first += 1;
                self.discontinuities += u64::from(old.discontinuity);
            }
        }
        gone
    }

    /// Puts `lines` (whole tag lines, such as `#EXT-X-DATERANGE:…` or
    /// `#EXT-X-CUE-OUT:…`) before the next segment pushed, after its
    /// `EXT-X-DISCONTINUITY` and before its `EXT-X-PROGRAM-DATE-TIME`.
    /// A line break inside a line would make another line: they are
    /// replaced by spaces.
    pub fn annotate(&mut self, lines: impl IntoIterator<Item = String>) {
        self.tags.extend(lines.into_iter().map(|l| l.replace(['\r', '\n'], " ")));
    }

    /// The stream ended: the playlist says so, and players stop asking.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// The media sequence number of the first segment listed.
    pub fn media_sequence(&self) -> u64 {
        self.first
    }

    /// The playlist's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "#EXTM3U");
        let version = match (&self.part_target, &self.map) {
            (Some(_), _) => 9,
            (None, Some(_)) => 7,
            (None, None) => 3,
        };
        let _ = writeln!(out, "#EXT-X-VERSION:{version}");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.target_s.max(1));
        if let Some(part) = self.part_target {
            // Players stay three parts back from the live edge.
            let _ = writeln!(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3}", 3.0 * part);
            let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={part:.3}");
        }
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.first);
        if self.discontinuities > 0 {
            let _ = writeln!(out, "#EXT-X-DISCONTINUITY-SEQUENCE:{}", self.discontinuities);
        }
        if let Some(map) = &self.map {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{map}\"");
        }
        // Parts are listed for the segments ending within three target
        // durations of the live edge.
        let mut from_end = 0.0;
        let recent: Vec<bool> = self
            .entries
            .iter()
            .rev()
            .map(|e| {
                let recent = from_end < 3.0 * self.target_s as f64;
                from_end += e.duration;
                recent
            })
            .collect();
        for (entry, recent) in self.entries.iter().zip(recent.into_iter().rev()) {
            if entry.discontinuity {
                let _ = writeln!(out, "#EXT-X-DISCONTINUITY");
            }
            for tag in &entry.tags {
                let _ = writeln!(out, "{tag}");
            }
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601(entry.utc_ms));
            if recent && self.part_target.is_some() {
                write_parts(&mut out, &entry.parts);
            }
            let _ = writeln!(out, "#EXTINF:{:.3},", entry.duration);
            let _ = writeln!(out, "{}", entry.uri);
        }
        if self.ended {
            let _ = writeln!(out, "#EXT-X-ENDLIST");
        } else if self.part_target.is_some() {
            write_parts(&mut out, &self.open);
            if let Some(hint) = &self.hint {
                let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"");
            }
        }
        out
    }
}

/// `#EXT-X-PART` lines for `parts`.
fn write_parts(out: &mut String, parts: &[Part]) {
    for p in parts {
        let independent = if p.independent { ",INDEPENDENT=YES" } else { "" };
        let _ = writeln!(out, "#EXT-X-PART:DURATION={:.3},URI=\"{}\"{independent}", p.duration, p.uri);
    }
}

/// `2026-11-24T20:42:21.123Z` for ms since the Unix epoch.
pub fn iso8601(utc_ms: i64) -> String {
    let (days, ms) = (utc_ms.div_euclid(86_400_000), utc_ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-24 is day 20,781.
        assert_eq!(iso8601(20_781 * 86_400_000 + 73_341_123), "2026-11-24T20:22:21.123Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_window_slides_and_the_sequence_follows() {
        let mut p = MediaPlaylist::new(3, 2);
        for n in 0..5 {
            let gone = p.push(format!("s{n}.ts"), 2.002, 1000 * n, n == 1 || n == 3);
            assert_eq!(gone, if n >= 3 { vec![format!("s{}.ts", n - 3)] } else { vec![] });
        }
        assert_eq!(p.media_sequence(), 2);
        let text = p.render();
        assert!(
            text.starts_with(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
            ),
            "s1's discontinuity left with it, and is counted: {text}"
        );
        assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:03.000Z\n"), "{text}");
        assert_eq!(text.matches("#EXTINF:2.002,").count(), 3);
        assert!(!text.contains("s1.ts") && text.contains("s4.ts") && !text.contains("ENDLIST"));
        p.end();
        assert!(p.render().ends_with("s4.ts\n#EXT-X-ENDLIST\n"));
        p.map("init.mp4");
        let text = p.render();
        assert!(text.contains("#EXT-X-VERSION:7\n") && text.contains("\n#EXT-X-MAP:URI=\"init.mp4\"\n"), "{text}");
    }

    #[test]
    fn tags_go_before_the_next_segment_and_leave_with_it() {
        let mut p = MediaPlaylist::new(2, 2);
        p.push("a.ts", 2.0, 0, false);
        p.annotate(["#EXT-X-CUE-OUT:DURATION=30.000".to_string(), "#EXT-OATCLS-SCTE35:/DA\nx".to_string()]);
        p.push("b.ts", 2.0, 2000, true);
        p.push("c.ts", 2.0, 4000, false);
        let text = p.render();
        let expected = "#EXT-X-DISCONTINUITY\n#EXT-X-CUE-OUT:DURATION=30.000\n#EXT-OATCLS-SCTE35:/DA x\n\
                        #EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:02.000Z\n#EXTINF:2.000,\nb.ts\n";
        assert!(text.contains(expected), "{text}");
        assert_eq!(text.matches("CUE-OUT").count(), 1, "once, before b.ts only: {text}");
        p.push("d.ts", 2.0, 6000, false);
        assert!(!p.render().contains("CUE-OUT"), "gone with b.ts");
    }

    #[test]
    fn parts_are_listed_near_the_live_edge_with_a_preload_hint() {
        let mut p = MediaPlaylist::new(10, 2);
        p.parts(0.5);
        p.map("init.mp4");
        let mut n = 0;
        for segment in 0..5 {
            for part in 0..4 {
                p.push_part(format!("p{n}.m4s"), 0.5, part == 0, format!("p{}.m4s", n + 1));
                n += 1;
            }
            p.push(format!("s{segment}.m4s"), 2.0, 0, false);
        }
        p.push_part("p20.m4s", 0.5, true, "p21.m4s");
        assert_eq!(p.progress(), (5, 1), "segment 5 has one part so far");
        let text = p.render();
        assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n#EXT-X-PART-INF:PART-TARGET=0.500\n"), "{text}");
        // The last three segments (6 s) keep their parts, the older ones not.
        assert!(
            !text.contains("\"p7.m4s\"")
                && text.contains("#EXT-X-PART:DURATION=0.500,URI=\"p8.m4s\",INDEPENDENT=YES\n"),
            "{text}"
        );
        assert!(text.contains("URI=\"p9.m4s\"\n"), "not independent: {text}");
        assert!(text.ends_with("s4.m4s\n#EXT-X-PART:DURATION=0.500,URI=\"p20.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p21.m4s\"\n"), "{text}");
        p.end();
        assert!(!p.render().contains("PRELOAD-HINT"), "an ended stream hints at nothing");
    }

    #[test]
    fn the_target_duration_covers_the_longest_segment_and_never_shrinks() {
        let mut p = MediaPlaylist::new(1, 2);
        p.push("a.ts", 2.0, 0, false);
        p.push("b.ts", 3.6, 0, false);
        assert!(p.render().contains("#EXT-X-TARGETDURATION:4\n"));
        p.push("c.ts", 2.0, 0, false);
        assert!(p.render().contains("#EXT-X-TARGETDURATION:4\n"), "b.ts has left, the target stays");
    }
}
