//! A live HLS media playlist (RFC 8216): a sliding window of segments with
//! their `EXT-X-PROGRAM-DATE-TIME`, the media sequence moving on as old
//! segments leave, and `EXT-X-ENDLIST` when the stream ends.

use crate::calendar::civil_from_days;
use std::collections::VecDeque;
use std::fmt::Write;

/// One segment in the playlist.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    uri: String,
    duration: f64,
    utc_ms: i64,
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
    ended: bool,
}

impl MediaPlaylist {
    /// A playlist keeping the last `window` segments (at least 1), for
    /// segments that aim at `target_s` seconds.
    pub fn new(window: usize, target_s: u64) -> MediaPlaylist {
        MediaPlaylist { window: window.max(1), target_s, entries: VecDeque::new(), first: 0, ended: false }
    }

    /// Adds the next segment: its URI (relative to the playlist), its
    /// duration in seconds, and its first packet's time in ms since the
    /// Unix epoch (UTC). Returns the URIs of the segments that left the
    /// window, for the caller to delete.
    pub fn push(&mut self, uri: impl Into<String>, duration: f64, utc_ms: i64) -> Vec<String> {
        self.entries.push_back(Entry { uri: uri.into(), duration, utc_ms });
        let mut gone = Vec::new();
        while self.entries.len() > self.window {
            if let Some(old) = self.entries.pop_front() {
                gone.push(old.uri);
                self.first += 1;
            }
        }
        gone
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
        // EXT-X-TARGETDURATION: no EXTINF may round above it (§4.3.3.1).
        let longest = self.entries.iter().map(|e| e.duration.round() as u64).max().unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(out, "#EXTM3U");
        let _ = writeln!(out, "#EXT-X-VERSION:3");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", longest.max(self.target_s).max(1));
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.first);
        for entry in &self.entries {
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601(entry.utc_ms));
            let _ = writeln!(out, "#EXTINF:{:.3},", entry.duration);
            let _ = writeln!(out, "{}", entry.uri);
        }
        if self.ended {
            let _ = writeln!(out, "#EXT-X-ENDLIST");
        }
        out
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
            let gone = p.push(format!("s{n}.ts"), 2.002, 1000 * n);
            assert_eq!(gone, if n >= 3 { vec![format!("s{}.ts", n - 3)] } else { vec![] });
        }
        assert_eq!(p.media_sequence(), 2);
        let text = p.render();
        assert!(
            text.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n"),
            "{text}"
        );
        assert_eq!(text.matches("#EXTINF:2.002,").count(), 3);
        assert!(!text.contains("s1.ts") && text.contains("s4.ts") && !text.contains("ENDLIST"));
        p.end();
        assert!(p.render().ends_with("s4.ts\n#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn the_target_duration_covers_the_longest_segment() {
        let mut p = MediaPlaylist::new(5, 2);
        p.push("a.ts", 2.0, 0);
        p.push("b.ts", 3.6, 0);
        assert!(p.render().contains("#EXT-X-TARGETDURATION:4\n"));
    }
}
