//! The test signals of EBU Tech 3341 (loudness meters) and EBU Tech 3342
//! (loudness range), generated from their definitions, and the check each
//! one states with its tolerance. Shared by the native meter's tests, the
//! loudness plugin's tests and the CLI's.
//!
//! Cases 7, 8, 10, 11 and 13 of Tech 3341 and 5 and 6 of Tech 3342 are
//! recorded programme or randomised bursts that only the EBU's files hold;
//! they are not generated here.

use std::f64::consts::PI;

/// One stretch of sine on every channel.
#[derive(Clone, Debug)]
pub struct Segment {
    pub seconds: f64,
    pub hz: f64,
    /// Starting phase in degrees.
    pub phase_deg: f64,
    /// Peak level of the sine per channel, dBFS (`None`: silent channel).
    pub dbfs: Vec<Option<f64>>,
    /// Raised-cosine fade in and out, seconds (0: hard edges).
    pub fade: f64,
}

/// What a case requires of the meter.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// Momentary, short-term and integrated at the end, ±0.1 LU.
    All(f64),
    /// Integrated at the end, ±0.1 LU.
    Integrated(f64),
    /// Short-term after every block once 3 s have passed, ±0.1 LU.
    ShortTermSteady(f64),
    /// Momentary after every block once 0.4 s have passed, ±0.1 LU.
    MomentarySteady(f64),
    /// Loudness range at the end, ±1 LU.
    Range(f64),
    /// Maximum true peak, +0.2/-0.4 dB.
    TruePeak(f64),
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    pub rate: u32,
    pub channels: usize,
    pub segments: Vec<Segment>,
    pub expect: Expect,
}

/// What a meter reported after a block (`None`: silence).
#[derive(Clone, Copy, Debug, Default)]
pub struct Readout {
    pub momentary: Option<f64>,
    pub short_term: Option<f64>,
    pub integrated: Option<f64>,
    pub range: f64,
    pub true_peak: Option<f64>,
}

fn stereo(level: f64, seconds: f64) -> Segment {
    Segment { seconds, hz: 1000.0, phase_deg: 0.0, dbfs: vec![Some(level); 2], fade: 0.0 }
}

fn steps(levels: &[(f64, f64)]) -> Vec<Segment> {
    levels.iter().map(|&(level, seconds)| stereo(level, seconds)).collect()
}

fn tp(name: &'static str, fraction: f64, phase_deg: f64, level: f64) -> Case {
    // One channel: the true-peak cases are about the interpolator alone.
    // The tone fades in and out over 20 ms: a hard edge at 0.9 of full
    // scale is a step, and a step's ringing is a real peak above the sine's.
    Case {
        name,
        rate: 48_000,
        channels: 1,
        segments: vec![Segment {
            seconds: 3.0,
            hz: 48_000.0 * fraction,
            phase_deg,
            dbfs: vec![Some(level)],
            fade: 0.02,
        }],
        expect: Expect::TruePeak(level),
    }
}

/// Every generated case.
pub fn cases() -> Vec<Case> {
    let case = |name, segments, expect| Case { name, rate: 48_000, channels: 2, segments, expect };
    let mut all = vec![
        case("3341-1", steps(&[(-23.0, 20.0)]), Expect::All(-23.0)),
        case("3341-2", steps(&[(-33.0, 20.0)]), Expect::All(-33.0)),
        case("3341-3", steps(&[(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)]), Expect::Integrated(-23.0)),
        case(
            "3341-4",
            steps(&[(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)]),
            Expect::Integrated(-23.0),
        ),
        case("3341-5", steps(&[(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)]), Expect::Integrated(-23.0)),
        Case {
            name: "3341-6 (5.0: L R C Ls Rs)",
            rate: 48_000,
            channels: 5,
            segments: vec![Segment {
                seconds: 20.0,
                hz: 1000.0,
                phase_deg: 0.0,
                dbfs: vec![Some(-28.0), Some(-28.0), Some(-24.0), Some(-30.0), Some(-30.0)],
                fade: 0.0,
            }],
            expect: Expect::Integrated(-23.0),
        },
        case("3341-9", steps(&[(-20.0, 1.34), (-30.0, 1.66)].repeat(5)), Expect::ShortTermSteady(-23.0)),
        case("3341-12", steps(&[(-20.0, 0.18), (-30.0, 0.22)].repeat(25)), Expect::MomentarySteady(-23.0)),
        case("3342-1", steps(&[(-20.0, 20.0), (-30.0, 20.0)]), Expect::Range(10.0)),
        case("3342-2", steps(&[(-20.0, 20.0), (-15.0, 20.0)]), Expect::Range(5.0)),
        case("3342-3", steps(&[(-40.0, 20.0), (-20.0, 20.0)]), Expect::Range(20.0)),
        case(
            "3342-4",
            steps(&[(-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)]),
            Expect::Range(15.0),
        ),
    ];
    // Tech 3341 cases 15-18: sines whose samples miss their peaks (fs/4 at
    // 0° and 45°, fs/6 at 60°, fs/8 at 67.5°), and 19: the 45° fs/4 sine
    // with its true peak at 0 dBTP while no sample passes -3 dBFS.
    all.push(tp("3341-15", 0.25, 0.0, -6.0));
    all.push(tp("3341-16", 0.25, 45.0, -6.0));
    all.push(tp("3341-17", 1.0 / 6.0, 60.0, -6.0));
    all.push(tp("3341-18", 0.125, 67.5, -6.0));
    all.push(tp("3341-19", 0.25, 45.0, 0.0));
    all
}

impl Case {
    pub fn frames(&self) -> usize {
        self.segments.iter().map(|s| (s.seconds * f64::from(self.rate)).round() as usize).sum()
    }

    /// The whole signal, planar (channel after channel).
    pub fn planar(&self) -> Vec<f32> {
        let frames = self.frames();
        let mut out = vec![0.0f32; frames * self.channels];
        let mut at = 0;
        for s in &self.segments {
            let n = (s.seconds * f64::from(self.rate)).round() as usize;
            for (c, level) in s.dbfs.iter().enumerate() {
                let Some(level) = level else { continue };
                let amp = 10f64.powf(level / 20.0);
                let w = 2.0 * PI * s.hz / f64::from(self.rate);
                let phase = s.phase_deg.to_radians();
                let fade = (s.fade * f64::from(self.rate)) as usize;
                for i in 0..n {
                    let edge = i.min(n - 1 - i);
                    let gain = if edge < fade { 0.5 - 0.5 * (PI * edge as f64 / fade as f64).cos() } else { 1.0 };
                    out[c * frames + at + i] = (gain * amp * (w * i as f64 + phase).sin()) as f32;
                }
            }
            at += n;
        }
        out
    }

    /// The whole signal, interleaved.
    pub fn interleaved(&self) -> Vec<f32> {
        let planar = self.planar();
        let frames = self.frames();
        (0..frames * self.channels).map(|k| planar[(k % self.channels) * frames + k / self.channels]).collect()
    }

    /// Feeds the signal in blocks of 10 ms (planar, as a flow grain) to
    /// `meter`, which returns its readout after each block, and checks
    /// what the case expects. Returns the last readout.
    pub fn run(&self, mut meter: impl FnMut(&[f32]) -> Readout) -> Result<Readout, String> {
        let frames = self.frames();
        let planar = self.planar();
        let block = self.rate as usize / 100;
        let mut last = Readout::default();
        let mut at = 0;
        while at < frames {
            let n = block.min(frames - at);
            let chunk: Vec<f32> =
                (0..self.channels).flat_map(|c| planar[c * frames + at..c * frames + at + n].iter().copied()).collect();
            last = meter(&chunk);
            at += n;
            let seconds = at as f64 / f64::from(self.rate);
            match self.expect {
                Expect::ShortTermSteady(want) if seconds >= 3.0 => {
                    within(self.name, "S", last.short_term, want, 0.1, 0.1)?
                }
                Expect::MomentarySteady(want) if seconds >= 0.4 => {
                    within(self.name, "M", last.momentary, want, 0.1, 0.1)?
                }
                _ => {}
            }
        }
        match self.expect {
            Expect::All(want) => {
                within(self.name, "M", last.momentary, want, 0.1, 0.1)?;
                within(self.name, "S", last.short_term, want, 0.1, 0.1)?;
                within(self.name, "I", last.integrated, want, 0.1, 0.1)?;
            }
            Expect::Integrated(want) => within(self.name, "I", last.integrated, want, 0.1, 0.1)?,
            Expect::Range(want) => within(self.name, "LRA", Some(last.range), want, 1.0, 1.0)?,
            Expect::TruePeak(want) => within(self.name, "TP", last.true_peak, want, 0.4, 0.2)?,
            Expect::ShortTermSteady(_) | Expect::MomentarySteady(_) => {}
        }
        Ok(last)
    }
}

fn within(case: &str, what: &str, got: Option<f64>, want: f64, below: f64, above: f64) -> Result<(), String> {
    match got {
        Some(v) if v >= want - below && v <= want + above => Ok(()),
        _ => Err(format!("EBU {case}: {what} = {got:?}, want {want} (-{below}/+{above})")),
    }
}
