//! WebVTT segments for an HLS subtitles playlist (RFC 8216 §3.5): each
//! segment holds the cues that show during its span, whole (a cue that
//! spans two segments is in both; players keep one), and maps its times
//! to the stream's with `X-TIMESTAMP-MAP`: cue time 0 is the 90 kHz PTS
//! of the stream's time zero.

use crate::captions::Cue;
use crate::captions::webvtt;
use crate::ts::WRAP;

/// The WebVTT segment covering `[start_ns, end_ns)`: the cues of `cues`
/// (ns on the stream's extended timeline) shown then, timed from
/// `zero_ns`, the time of PTS `zero_pts` (90 kHz).
pub fn webvtt_segment(cues: &[Cue], start_ns: u64, end_ns: u64, zero_ns: u64, zero_pts: u64) -> String {
    let shown: Vec<Cue> = cues
        .iter()
        .filter(|c| c.start < end_ns && c.end > start_ns)
        .map(|c| Cue { start: c.start.saturating_sub(zero_ns), end: c.end.saturating_sub(zero_ns), ..c.clone() })
        .collect();
    let body = webvtt::write(&shown);
    let rest = body.strip_prefix("WEBVTT\n").unwrap_or(&body);
    format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{},LOCAL:00:00:00.000\n{rest}", zero_pts % WRAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_holds_the_cues_it_shows_timed_from_zero() {
        let s = 1_000_000_000;
        let cues =
            [Cue::new(10 * s, 12 * s, "before"), Cue::new(13 * s, 15 * s, "across"), Cue::new(16 * s, 17 * s, "in")];
        let text = webvtt_segment(&cues, 14 * s, 18 * s, 10 * s, 900_000);
        assert_eq!(
            text,
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n\n\
             00:00:03.000 --> 00:00:05.000\nacross\n\n00:00:06.000 --> 00:00:07.000\nin\n\n"
        );
        let empty = webvtt_segment(&cues, 20 * s, 22 * s, 10 * s, WRAP + 5);
        assert_eq!(empty, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:5,LOCAL:00:00:00.000\n\n");
    }
}
