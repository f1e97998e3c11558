//! Media time: nanoseconds, frame rates and text timestamps.

use super::CaptionError;

/// A frame rate in thousandths of a frame per second (29.97 fps = 29970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRate(u32);

impl FrameRate {
    /// NTSC, 30000/1001 fps, the rate of line 21 and of SCC.
    pub const NTSC: FrameRate = FrameRate(29_970);

    /// A rate in thousandths of a frame per second, 1 to 120 fps.
    pub fn from_milli(milli: u32) -> Result<FrameRate, CaptionError> {
        if (1_000..=120_000).contains(&milli) { Ok(FrameRate(milli)) } else { Err(CaptionError::FrameRate(milli)) }
    }

    /// The start of frame `n` after time 0, in ns.
    pub fn frame_start(self, n: u64) -> u64 {
        if self == FrameRate::NTSC {
            // Exactly 1001/30000 s per frame, not 1/29.97.
            return (u128::from(n) * 1_001_000_000_000 / 30_000) as u64;
        }
        (u128::from(n) * 1_000_000_000_000 / u128::from(self.0)) as u64
    }

    /// The frame whose start is nearest to `ns`.
    pub fn frame_at(self, ns: u64) -> u64 {
        let (num, den) = if self == FrameRate::NTSC {
            (30_000u128, 1_001_000_000_000u128)
        } else {
            (u128::from(self.0), 1_000_000_000_000u128)
        };
        ((u128::from(ns) * num + den / 2) / den) as u64
    }
}

/// Parses `[hh:]mm:ss<sep>mmm` (WebVTT `.`, SRT `,`) into ns. Hours may
/// have more than two digits; minutes and seconds must be below 60.
pub(crate) fn parse_clock(text: &str, sep: char) -> Option<u64> {
    let (hms, millis) = text.trim().split_once(sep)?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => ("0", *m, *s),
        _ => return None,
    };
    let num = |t: &str, max: u64| -> Option<u64> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse::<u64>().ok().filter(|v| *v < max)
    };
    let (h, m, s, ms) = (num(h, 1 << 20)?, num(m, 60)?, num(s, 60)?, num(millis, 1000)?);
    Some((((h * 60 + m) * 60 + s) * 1000 + ms) * 1_000_000)
}

/// Writes ns as `hh:mm:ss<sep>mmm`, rounded to the millisecond.
pub(crate) fn format_clock(ns: u64, sep: char) -> String {
    let ms = (ns + 500_000) / 1_000_000;
    format!("{:02}:{:02}:{:02}{sep}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn clocks_round_trip() {
        assert_eq!(parse_clock("01:02:03,456", ','), Some(3_723_456_000_000));
        assert_eq!(parse_clock("02:03.456", '.'), Some(123_456_000_000));
        assert_eq!(format_clock(3_723_456_000_000, ','), "01:02:03,456");
        for bad in ["1:60:00.000", "00:00.00", "00:00:00.0000", "a:00:00.000", "00:00:00", "-1:00.000"] {
            assert_eq!(parse_clock(bad, '.'), None, "{bad}");
        }
    }

    #[test]
    fn ntsc_frames_are_exact() {
        let r = FrameRate::NTSC;
        assert_eq!(r.frame_start(30_000), 1_001_000_000_000);
        assert_eq!(r.frame_at(1_001_000_000_000), 30_000);
        assert_eq!(r.frame_at(r.frame_start(12_345) + 1), 12_345);
        assert!(FrameRate::from_milli(0).is_err());
        assert_eq!(FrameRate::from_milli(25_000).unwrap().frame_start(25), 1_000_000_000);
    }
}
