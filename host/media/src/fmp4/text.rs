//! A WebVTT track as fragmented MP4 (ISO/IEC 14496-30, CMAF's `cwvt`
//! brand): a `wvtt` sample entry, and fragments whose samples each cover
//! a span in which the cues shown do not change: the cues as `vttc` boxes
//! (`payl` text, `sttg` settings), or `vtte` where none is shown. Samples
//! follow one another with no gap, so a fragment covers its whole span.

use super::boxes::write_box;
use super::track::{FragmentSample, TrackKind, fragment, init_segment};
use crate::captions::{Cue, webvtt};

/// The track's timescale: 90 kHz, as the video's.
const TIMESCALE: u32 = 90_000;

/// A WebVTT track being written.
#[derive(Debug, Default)]
pub struct WebVttTrack {
    sequence: u32,
}

/// Nanoseconds to 90 kHz ticks.
fn ticks(ns: u64) -> u64 {
    (u128::from(ns) * 9 / 100_000) as u64
}

impl WebVttTrack {
    /// A track with nothing written yet.
    pub fn new() -> WebVttTrack {
        WebVttTrack::default()
    }

    /// The track's timescale.
    pub fn timescale(&self) -> u32 {
        TIMESCALE
    }

    /// The initialisation segment.
    pub fn init_segment(&self) -> Vec<u8> {
        init_segment(&TrackKind::Text, TIMESCALE, b"cwvt", |o| {
            write_box(o, b"wvtt", |o| {
                o.extend_from_slice(&[0; 6]);
                o.extend_from_slice(&1u16.to_be_bytes()); // data_reference_index
                write_box(o, b"vttC", |o| o.extend_from_slice(b"WEBVTT"));
            });
        })
    }

    /// The fragment covering `[start, end)` (90 kHz ticks) with the cues
    /// (times in ns on the same timeline) that overlap it; a cue that
    /// started before or ends after is cut to the span.
    pub fn fragment(&mut self, start: u64, end: u64, cues: &[Cue]) -> Vec<u8> {
        let end = end.max(start + 1);
        let shown: Vec<(u64, u64, &Cue)> = cues
            .iter()
            .map(|c| (ticks(c.start).max(start), ticks(c.end).min(end), c))
            .filter(|(from, to, _)| from < to)
            .collect();
        let mut edges: Vec<u64> = shown.iter().flat_map(|(from, to, _)| [*from, *to]).chain([start, end]).collect();
        edges.sort_unstable();
        edges.dedup();
        let mut samples = Vec::new();
        let mut data = Vec::new();
        for span in edges.windows(2) {
            let (from, to) = (span[0], span[1]);
            let mut bytes = Vec::new();
            for (_, _, cue) in shown.iter().filter(|(a, b, _)| *a <= from && *b >= to) {
                write_box(&mut bytes, b"vttc", |o| {
                    let settings = webvtt::settings(cue);
                    if !settings.is_empty() {
                        write_box(o, b"sttg", |o| o.extend_from_slice(settings.as_bytes()));
                    }
                    write_box(o, b"payl", |o| o.extend_from_slice(webvtt::payload(cue).as_bytes()));
                });
            }
            if bytes.is_empty() {
                write_box(&mut bytes, b"vtte", |_| {});
            }
            samples.push(FragmentSample {
                duration: u32::try_from(to - from).unwrap_or(u32::MAX),
                size: bytes.len() as u32,
                flags: 0x0200_0000,
                offset: 0,
            });
            data.push(bytes);
        }
        self.sequence += 1;
        fragment(self.sequence, start, &samples, data.iter().map(Vec::as_slice))
    }
}
