//! Loudness metering after ITU-R BS.1770-4 and EBU R 128: momentary (400 ms),
//! short-term (3 s) and integrated loudness in LUFS, loudness range (EBU Tech
//! 3342) in LU, and true peak in dBTP.
//!
//! The filters, gating and true-peak interpolation are the `ebur128` crate's
//! (a port of libebur128, the meter behind many broadcast tools); this module
//! fixes the configuration an always-on appliance needs and gives the
//! readings in the units operators read.
//!
//! The meter runs in histogram mode: integrated loudness and loudness range
//! come from fixed-size histograms (0.1 LU bins), so memory stays constant
//! however long a channel runs, and no reading ever grows slower with time.

use ebur128::{EbuR128, Mode};

/// Most channels a meter takes (BS.1770 weights up to 5 full-range
/// channels; the rest of a 7.1.4 layout counts too, unweighted).
pub const MAX_CHANNELS: u32 = 64;

/// Why a meter cannot be made or fed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoudnessError {
    /// Channel counts run from 1 to [`MAX_CHANNELS`].
    #[error("{0} channels: a meter takes 1 to {MAX_CHANNELS}")]
    Channels(u32),
    /// The sample rate is outside what the filters are designed for.
    #[error("sample rate {0} Hz: a meter takes 8000 to 384000 Hz")]
    SampleRate(u32),
    /// A planar block whose length is not a whole number of frames.
    #[error("{samples} samples do not divide into {channels} channels")]
    Ragged {
        /// Samples given.
        samples: usize,
        /// Channels of the meter.
        channels: u32,
    },
    /// The underlying meter refused (out of memory, in practice).
    #[error("the loudness meter failed: {0}")]
    Meter(String),
}

/// The loudness plugin's configuration (JSON; every field optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Start a new programme after a grain marked invalid (a gap upstream).
    pub reset_on_invalid: bool,
}

impl Config {
    /// Reads the configuration; empty text is the default.
    pub fn from_json(text: &str) -> Result<Config, serde_json::Error> {
        match text.trim() {
            "" => Ok(Config::default()),
            text => serde_json::from_str(text),
        }
    }
}

/// What the meter reads now. `None` is silence: below the -70 LUFS absolute
/// gate, or not yet a whole window of audio.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Reading {
    /// Momentary loudness: the last 400 ms, LUFS.
    pub momentary: Option<f64>,
    /// Short-term loudness: the last 3 s, LUFS.
    pub short_term: Option<f64>,
    /// Integrated (programme) loudness since the start, gated, LUFS.
    pub integrated: Option<f64>,
    /// Loudness range since the start, LU (EBU Tech 3342).
    pub range: f64,
    /// The highest true peak of any channel since the start, dBTP.
    pub true_peak: Option<f64>,
    /// Audio measured, in seconds.
    pub seconds: f64,
}

/// A loudness meter for one programme.
pub struct Meter {
    inner: EbuR128,
    channels: u32,
    rate: u32,
    frames: u64,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter").field("channels", &self.channels).field("rate", &self.rate).finish()
    }
}

/// LUFS from the meter's output: -inf (silence) becomes `None`.
fn lufs(value: Result<f64, ebur128::Error>) -> Option<f64> {
    value.ok().filter(|v| v.is_finite())
}

impl Meter {
    /// A meter for `channels` channels at `sample_rate` Hz. Channels follow
    /// the SMPTE/WAV order: L, R, C, LFE (not measured), Ls, Rs for 5.1; L,
    /// R, C, Ls, Rs for five channels; L, R, Ls, Rs for four.
    pub fn new(sample_rate: u32, channels: u32) -> Result<Meter, LoudnessError> {
        if !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(LoudnessError::Channels(channels));
        }
        if !(8000..=384_000).contains(&sample_rate) {
            return Err(LoudnessError::SampleRate(sample_rate));
        }
        let mode = Mode::I | Mode::S | Mode::M | Mode::LRA | Mode::TRUE_PEAK | Mode::HISTOGRAM;
        let inner = EbuR128::new(channels, sample_rate, mode).map_err(|e| LoudnessError::Meter(format!("{e:?}")))?;
        Ok(Meter { inner, channels, rate: sample_rate, frames: 0 })
    }

    /// Channels measured.
    pub fn channels(&self) -> u32 {
        self.channels
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Adds planar samples (as in a WIT `audio-block`: all of channel 0,
    /// then all of channel 1, ...), full scale ±1.0.
    pub fn add_planar(&mut self, samples: &[f32]) -> Result<(), LoudnessError> {
        let frames = self.frames_in(samples)?;
        if frames == 0 {
            return Ok(());
        }
        let planes: Vec<&[f32]> = samples.chunks_exact(frames).collect();
        self.inner.add_frames_planar_f32(&planes).map_err(|e| LoudnessError::Meter(format!("{e:?}")))?;
        self.frames += frames as u64;
        Ok(())
    }

    /// Adds interleaved samples (frame after frame), full scale ±1.0.
    pub fn add_interleaved(&mut self, samples: &[f32]) -> Result<(), LoudnessError> {
        let frames = self.frames_in(samples)?;
        self.inner.add_frames_f32(samples).map_err(|e| LoudnessError::Meter(format!("{e:?}")))?;
        self.frames += frames as u64;
        Ok(())
    }

    fn frames_in(&self, samples: &[f32]) -> Result<usize, LoudnessError> {
        let channels = self.channels as usize;
        if !samples.len().is_multiple_of(channels) {
            return Err(LoudnessError::Ragged { samples: samples.len(), channels: self.channels });
        }
        Ok(samples.len() / channels)
    }

    /// Starts a new programme: forgets everything measured.
    pub fn reset(&mut self) {
        self.inner.reset();
        self.frames = 0;
    }

    /// The readings now.
    pub fn reading(&self) -> Reading {
        let peak = (0..self.channels).filter_map(|c| self.inner.true_peak(c).ok()).fold(0.0f64, f64::max);
        Reading {
            momentary: lufs(self.inner.loudness_momentary()),
            short_term: lufs(self.inner.loudness_shortterm()),
            integrated: lufs(self.inner.loudness_global()),
            range: self.inner.loudness_range().unwrap_or(0.0),
            true_peak: (peak > 0.0).then(|| 20.0 * peak.log10()),
            seconds: self.frames as f64 / f64::from(self.rate),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bad_shapes_are_refused() {
        assert_eq!(Meter::new(48_000, 0).unwrap_err(), LoudnessError::Channels(0));
        assert_eq!(Meter::new(48_000, 65).unwrap_err(), LoudnessError::Channels(65));
        assert_eq!(Meter::new(100, 2).unwrap_err(), LoudnessError::SampleRate(100));
        let mut m = Meter::new(48_000, 2).unwrap();
        assert_eq!(m.add_planar(&[0.0; 3]).unwrap_err(), LoudnessError::Ragged { samples: 3, channels: 2 });
        assert_eq!(m.reading().seconds, 0.0, "a refused block measures nothing");
    }

    #[test]
    fn silence_reads_as_none() {
        let mut m = Meter::new(48_000, 2).unwrap();
        m.add_planar(&vec![0.0; 96_000]).unwrap();
        let r = m.reading();
        assert_eq!((r.momentary, r.short_term, r.integrated, r.true_peak), (None, None, None, None));
        assert_eq!(r.seconds, 1.0);
    }
}
