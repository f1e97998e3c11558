//! Timecode labels against the `timecode` package from PyPI (an
//! independent implementation of SMPTE 12M counting), at every rate
//! broadcast uses, drop-frame and not.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::timecode::{Counting, Timecode};
use std::process::Command;
use support::{Rng, python};

/// (rate as the Python package names it, numerator, denominator, drop-frame)
const RATES: &[(&str, u32, u32, bool)] = &[
    ("23.976", 24000, 1001, false),
    ("24", 24, 1, false),
    ("25", 25, 1, false),
    ("29.97", 30000, 1001, true),
    ("29.97", 30000, 1001, false),
    ("30", 30, 1, false),
    ("50", 50, 1, false),
    ("59.94", 60000, 1001, true),
    ("59.94", 60000, 1001, false),
    ("60", 60, 1, false),
];

#[test]
fn labels_agree_with_the_timecode_package() {
    let mut rng = Rng(12);
    let mut script = String::from("from timecode import Timecode\n");
    let mut ours = Vec::new();
    for &(name, num, den, df) in RATES {
        let c = Counting::new(num, den, Some(df)).unwrap();
        let day = c.frames_per_day();
        // Every minute and ten-minute boundary of the first hour, the end
        // of the day, and random frames.
        let mut frames: Vec<u64> = (0..60u8)
            .filter_map(|m| {
                // The minute's first label: :00, or :02/:04 where drop-frame skips.
                [0, 2, 4]
                    .into_iter()
                    .find_map(|f| c.frame(&Timecode { hours: 0, minutes: m, seconds: 0, frames: f, drop_frame: df }))
            })
            .flat_map(|f| [f.saturating_sub(1), f, f + 1])
            .collect();
        frames.extend([day - 2, day - 1]);
        frames.extend((0..300).map(|_| rng.below(day)));
        let force = if df { "" } else { ", force_non_drop_frame=True" };
        script.push_str(&format!("for n in {frames:?}:\n    print(Timecode('{name}', frames=n + 1{force}))\n"));
        ours.extend(frames.iter().map(|&n| c.label(n).to_string()));
    }
    let out = Command::new(python()).arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(theirs.len(), ours.len());
    let differ: Vec<_> = ours.iter().zip(&theirs).filter(|(a, b)| a != b).take(10).collect();
    assert!(differ.is_empty(), "ours vs timecode package: {differ:?}");
}
