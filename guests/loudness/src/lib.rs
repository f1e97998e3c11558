//! The bundled loudness meter: an audio node that passes its audio through
//! untouched and reports EBU R 128 readings as gauges. The meter is
//! `stagebox_media::loudness`, the same code `stagebox loudness` runs
//! natively.
//!
//! Gauges, updated every 100 ms of audio (the refresh rate EBU Tech 3341
//! asks of a meter; silence reads as -inf):
//! `momentary_lufs`, `short_term_lufs`, `integrated_lufs`,
//! `loudness_range_lu`, `true_peak_dbtp`, `measured_seconds`.
//!
//! Configuration: empty, `{}`, or `{"reset_on_invalid": true}` to start a
//! new programme after a grain marked invalid (a gap upstream). Invalid
//! grains are never measured.

use stagebox_media::loudness::{Config, Meter, Reading};
use stagebox_sdk::audio::*;

struct Loudness {
    meter: Option<Meter>,
    reset_on_invalid: bool,
    /// Frames measured since the gauges were last set.
    unreported: u64,
}

fn gauge(name: &str, value: Option<f64>) {
    metrics::gauge_set(name, value.unwrap_or(f64::NEG_INFINITY));
}

fn report(r: &Reading) {
    gauge("momentary_lufs", r.momentary);
    gauge("short_term_lufs", r.short_term);
    gauge("integrated_lufs", r.integrated);
    gauge("true_peak_dbtp", r.true_peak);
    metrics::gauge_set("loudness_range_lu", r.range);
    metrics::gauge_set("measured_seconds", r.seconds);
}

impl AudioNode for Loudness {
    fn new(config: &str) -> Result<Self, Error> {
        let config = Config::from_json(config)
            .map_err(|e| Error { code: ErrorCode::InvalidConfig, message: format!("loudness config: {e}") })?;
        Ok(Loudness { meter: None, reset_on_invalid: config.reset_on_invalid, unreported: 0 })
    }

    fn process(&mut self, block: AudioBlock) -> Result<Vec<AudioBlock>, Error> {
        let AudioFormat { sample_rate, channels } = block.format;
        if block.info.invalid {
            if self.reset_on_invalid
                && let Some(m) = &mut self.meter
            {
                m.reset();
                report(&m.reading());
            }
            metrics::counter_add("invalid_blocks", 1);
            return Ok(vec![block]);
        }
        let meter = match &mut self.meter {
            Some(m) if m.sample_rate() == sample_rate && m.channels() == channels => m,
            slot => {
                // A new format is a new programme.
                let m = Meter::new(sample_rate, channels)
                    .map_err(|e| Error { code: ErrorCode::InvalidInput, message: e.to_string() })?;
                log::log(log::Level::Info, &format!("metering {channels} channels at {sample_rate} Hz"));
                self.unreported = 0;
                slot.insert(m)
            }
        };
        meter
            .add_planar(&block.samples)
            .map_err(|e| Error { code: ErrorCode::InvalidInput, message: e.to_string() })?;
        // A reading sums the last 3 s of audio: once per 100 ms, not per block.
        self.unreported += (block.samples.len() / channels as usize) as u64;
        if self.unreported >= u64::from(sample_rate / 10) {
            self.unreported = 0;
            report(&meter.reading());
        }
        Ok(vec![block])
    }
}

stagebox_sdk::export_audio_node!(Loudness);
