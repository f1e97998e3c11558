//! SMPTE ST 12-1 timecode: labels from frame counts, drop-frame and
//! non-drop-frame, and from a grain's TAI timestamp (time of day, as
//! SMPTE ST 2059-1 derives timecode from PTP time), and burning a label
//! into video ([`burn_text`]).

mod burn;
mod font;

pub use burn::{BurnError, Frame, Layout, Placement, box_size, burn_text};

use std::fmt;

/// Why a timecode cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimecodeError {
    /// A frame rate timecode has no counting for.
    #[error("{0}/{1} fps has no SMPTE timecode (use 24, 25, 30, 48, 50, 60 or their /1.001 rates)")]
    Rate(u32, u32),
    /// Drop-frame counting exists only for 29.97 and 59.94 fps.
    #[error("drop-frame timecode exists only at 30000/1001 and 60000/1001 fps, not {0}/{1}")]
    DropFrame(u32, u32),
}

/// A frame rate with its timecode counting: `nominal` frames per labelled
/// second (30 for 29.97) and whether labels drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counting {
    numerator: u32,
    denominator: u32,
    nominal: u64,
    drop_frame: bool,
}

impl Counting {
    /// The counting for `numerator/denominator` fps. `drop_frame: None`
    /// chooses drop-frame for 29.97 and 59.94, as broadcast does.
    pub fn new(numerator: u32, denominator: u32, drop_frame: Option<bool>) -> Result<Counting, TimecodeError> {
        let nominal = match (numerator, denominator) {
            (n, 1) if matches!(n, 24 | 25 | 30 | 48 | 50 | 60) => u64::from(n),
            (n, 1001) if matches!(n, 24000 | 30000 | 48000 | 60000) => u64::from(n / 1000),
            _ => return Err(TimecodeError::Rate(numerator, denominator)),
        };
        let can_drop = denominator == 1001 && (nominal == 30 || nominal == 60);
        let drop_frame = drop_frame.unwrap_or(can_drop);
        if drop_frame && !can_drop {
            return Err(TimecodeError::DropFrame(numerator, denominator));
        }
        Ok(Counting { numerator, denominator, nominal, drop_frame })
    }

    /// Whether labels drop.
    pub fn drop_frame(&self) -> bool {
        self.drop_frame
    }

    /// Labels dropped at each minute not divisible by ten.
    fn dropped(&self) -> u64 {
        if self.drop_frame { self.nominal / 15 } else { 0 }
    }

    /// Frames in a labelled day.
    pub fn frames_per_day(&self) -> u64 {
        let per_ten_minutes = self.nominal * 600 - 9 * self.dropped();
        per_ten_minutes * 6 * 24
    }

    /// The label of frame `n` counted from 00:00:00:00 (wrapping each day).
    pub fn label(&self, n: u64) -> Timecode {
        let mut n = n % self.frames_per_day();
        if self.drop_frame {
            // Add back the labels skipped before frame n.
            let d = self.dropped();
            let per_minute = self.nominal * 60 - d;
            let per_ten = self.nominal * 600 - 9 * d;
            let (tens, rest) = (n / per_ten, n % per_ten);
            let skipped_in_ten = if rest < d { 0 } else { (rest - d) / per_minute };
            n += 9 * d * tens + d * skipped_in_ten;
        }
        let fps = self.nominal;
        Timecode {
            hours: (n / (fps * 3600)) as u8,
            minutes: (n / (fps * 60) % 60) as u8,
            seconds: (n / fps % 60) as u8,
            frames: (n % fps) as u8,
            drop_frame: self.drop_frame,
        }
    }

    /// The frame a label names, or `None` for a label that drop-frame
    /// counting skips or that is out of range.
    pub fn frame(&self, tc: &Timecode) -> Option<u64> {
        let fps = self.nominal;
        if tc.hours > 23 || tc.minutes > 59 || tc.seconds > 59 || u64::from(tc.frames) >= fps {
            return None;
        }
        let minutes = u64::from(tc.hours) * 60 + u64::from(tc.minutes);
        let d = self.dropped();
        if d > 0 && tc.seconds == 0 && u64::from(tc.frames) < d && !tc.minutes.is_multiple_of(10) {
            return None;
        }
        let labels = (minutes * 60 + u64::from(tc.seconds)) * fps + u64::from(tc.frames);
        Some(labels - d * (minutes - minutes / 10))
    }

    /// The frames since midnight of a TAI time (ns since 1970-01-01 TAI):
    /// UTC is TAI less `leap_seconds` (37 since 2017), plus `offset_minutes`
    /// for local time.
    pub fn frames_since_midnight(&self, tai_ns: u64, leap_seconds: i64, offset_minutes: i64) -> u64 {
        const DAY_NS: i128 = 86_400 * 1_000_000_000;
        let local =
            i128::from(tai_ns) - i128::from(leap_seconds) * 1_000_000_000 + i128::from(offset_minutes) * 60_000_000_000;
        let of_day = local.rem_euclid(DAY_NS);
        (of_day * i128::from(self.numerator) / (i128::from(self.denominator) * 1_000_000_000)) as u64
    }
}

/// What the timecode label of a grain counts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelSource {
    /// The time of day of the grain's TAI timestamp (SMPTE ST 2059-1).
    #[default]
    TimeOfDay,
    /// The grain's index in its flow (frames since the TAI epoch), wrapped
    /// to a day: steady labels for test material.
    Index,
}

/// The timecode burn-in plugin's configuration (JSON; every field optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BurnConfig {
    /// Drop-frame labels; unset: drop-frame at 29.97 and 59.94 fps.
    pub drop_frame: Option<bool>,
    /// What labels count from.
    pub source: LabelSource,
    /// TAI − UTC in seconds (37 since 2017).
    pub leap_seconds: i64,
    /// Local time's offset from UTC in minutes.
    pub utc_offset_minutes: i64,
    /// Left edge of the box (default: centred).
    pub x: Option<usize>,
    /// Top edge of the box (default: near the bottom).
    pub y: Option<usize>,
    /// Pixels per font pixel (default: one per 270 lines).
    pub scale: Option<usize>,
}

impl Default for BurnConfig {
    fn default() -> Self {
        BurnConfig {
            drop_frame: None,
            source: LabelSource::TimeOfDay,
            leap_seconds: 37,
            utc_offset_minutes: 0,
            x: None,
            y: None,
            scale: None,
        }
    }
}

impl BurnConfig {
    /// Reads the configuration; empty text is the default.
    pub fn from_json(text: &str) -> Result<BurnConfig, serde_json::Error> {
        match text.trim() {
            "" => Ok(BurnConfig::default()),
            text => serde_json::from_str(text),
        }
    }

    /// Where to draw.
    pub fn placement(&self) -> Placement {
        Placement { x: self.x, y: self.y, scale: self.scale }
    }

    /// The label of a grain of a flow counted by `counting`.
    pub fn label(&self, counting: &Counting, index: u64, tai_ns: u64) -> Timecode {
        match self.source {
            LabelSource::TimeOfDay => {
                counting.label(counting.frames_since_midnight(tai_ns, self.leap_seconds, self.utc_offset_minutes))
            }
            LabelSource::Index => counting.label(index),
        }
    }
}

/// A timecode label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timecode {
    /// 0–23.
    pub hours: u8,
    /// 0–59.
    pub minutes: u8,
    /// 0–59.
    pub seconds: u8,
    /// 0 to the nominal rate less one.
    pub frames: u8,
    /// Drop-frame: written with `;` before the frames.
    pub drop_frame: bool,
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.drop_frame { ';' } else { ':' };
        write!(f, "{:02}:{:02}:{:02}{sep}{:02}", self.hours, self.minutes, self.seconds, self.frames)
    }
}

impl std::str::FromStr for Timecode {
    type Err = String;

    /// `HH:MM:SS:FF`, or `HH:MM:SS;FF` (also `.` or `,`) for drop-frame.
    fn from_str(s: &str) -> Result<Timecode, String> {
        let bad = || format!("{s:?} is not HH:MM:SS:FF");
        let b = s.as_bytes();
        if b.len() != 11 || b[2] != b':' || b[5] != b':' {
            return Err(bad());
        }
        let num = |i: usize| -> Result<u8, String> { s.get(i..i + 2).and_then(|t| t.parse().ok()).ok_or_else(bad) };
        Ok(Timecode {
            hours: num(0)?,
            minutes: num(3)?,
            seconds: num(6)?,
            frames: num(9)?,
            drop_frame: matches!(b[8], b';' | b'.' | b','),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn drop_frame_labels_from_st_12() {
        let df = Counting::new(30000, 1001, None).unwrap();
        assert!(df.drop_frame());
        for (n, label) in [
            (0, "00:00:00;00"),
            (1799, "00:00:59;29"),
            (1800, "00:01:00;02"),
            (17_981, "00:09:59;29"),
            (17_982, "00:10:00;00"),
            (107_892, "01:00:00;00"),
            (2_589_407, "23:59:59;29"),
            (2_589_408, "00:00:00;00"),
        ] {
            assert_eq!(df.label(n).to_string(), label, "frame {n}");
        }
        assert_eq!(df.frames_per_day(), 2_589_408);
        assert_eq!(df.frame(&"00:01:00;01".parse().unwrap()), None, "a dropped label");
        let ndf = Counting::new(30000, 1001, Some(false)).unwrap();
        assert_eq!(ndf.label(1800).to_string(), "00:01:00:00");
        assert_eq!(Counting::new(25, 1, Some(true)).unwrap_err(), TimecodeError::DropFrame(25, 1));
        assert!(Counting::new(15, 1, None).is_err());
    }

    #[test]
    fn every_label_of_a_day_round_trips() {
        for (num, den, df) in [(30000, 1001, true), (60000, 1001, true), (25, 1, false), (24000, 1001, false)] {
            let c = Counting::new(num, den, Some(df)).unwrap();
            let mut last: Option<Timecode> = None;
            for n in (0..c.frames_per_day()).step_by(7).chain([c.frames_per_day() - 1]) {
                let tc = c.label(n);
                assert_eq!(c.frame(&tc), Some(n), "{num}/{den} frame {n} = {tc}");
                assert_eq!(tc.to_string().parse::<Timecode>().unwrap(), tc);
                if let Some(prev) = last {
                    assert!(tc.to_string() > prev.to_string());
                }
                last = Some(tc);
            }
        }
    }

    #[test]
    fn time_of_day_from_tai() {
        let c = Counting::new(25, 1, None).unwrap();
        // 2026-11-24 12:00:00 UTC is 1,795,953,600 s of UTC since 1970;
        // TAI runs 37 s ahead.
        let tai = (1_795_521_600 + 37) * 1_000_000_000u64 + 40_000_000;
        assert_eq!(c.label(c.frames_since_midnight(tai, 37, 0)).to_string(), "12:00:00:01");
        assert_eq!(c.label(c.frames_since_midnight(tai, 37, 60)).to_string(), "13:00:00:01");
        assert_eq!(c.label(c.frames_since_midnight(tai, 37, -13 * 60)).to_string(), "23:00:00:01");
    }
}
