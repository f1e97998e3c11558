//! `stagebox loudness`: EBU R 128 figures of a WAV file, measured by the
//! same meter as the bundled loudness plugin.

use anyhow::{Context, Result, bail};
use serde_json::json;
use stagebox_media::loudness::Meter;

/// Frames measured between two looks at momentary and short-term loudness:
/// 100 ms, the refresh rate EBU Tech 3341 asks of a meter.
const STEP_SECONDS: f64 = 0.1;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The WAV file (PCM 8 to 32 bits, or 32-bit float). Channels in WAV
    /// order: L R C LFE Ls Rs; the LFE channel is not measured.
    file: String,
}

/// The whole file as interleaved f32 at full scale ±1.0.
fn read_wav(path: &str) -> Result<(hound::WavSpec, Vec<f32>)> {
    let mut reader = hound::WavReader::open(path).with_context(|| format!("{path}: not a readable WAV file"))?;
    let spec = reader.spec();
    let samples: Result<Vec<f32>, hound::Error> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect(),
        (hound::SampleFormat::Int, bits @ 8..=32) => {
            let scale = 1.0 / f64::from(1u32 << (bits - 1));
            reader.samples::<i32>().map(|s| s.map(|v| (f64::from(v) * scale) as f32)).collect()
        }
        (format, bits) => bail!("{path}: {bits}-bit {format:?} samples are not supported"),
    };
    let samples = samples.with_context(|| format!("{path}: damaged sample data"))?;
    Ok((spec, samples))
}

/// The louder of two readings, silence (`None`) being the quietest.
fn louder(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "-inf".to_owned(), |v| format!("{v:.1}"))
}

pub(crate) fn run(args: Args, json_output: bool) -> Result<()> {
    let (spec, samples) = read_wav(&args.file)?;
    let mut meter = Meter::new(spec.sample_rate, u32::from(spec.channels)).with_context(|| args.file.clone())?;
    let step = ((f64::from(spec.sample_rate) * STEP_SECONDS) as usize).max(1) * usize::from(spec.channels);
    let (mut max_m, mut max_s) = (None::<f64>, None::<f64>);
    for chunk in samples.chunks(step) {
        meter.add_interleaved(chunk).with_context(|| args.file.clone())?;
        let r = meter.reading();
        max_m = louder(max_m, r.momentary);
        max_s = louder(max_s, r.short_term);
    }
    let r = meter.reading();
    if json_output {
        let out = json!({
            "file": args.file,
            "sample_rate": spec.sample_rate,
            "channels": spec.channels,
            "seconds": r.seconds,
            "integrated_lufs": r.integrated,
            "loudness_range_lu": r.range,
            "true_peak_dbtp": r.true_peak,
            "max_momentary_lufs": max_m,
            "max_short_term_lufs": max_s,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}: {} channels at {} Hz, {:.1} s", args.file, spec.channels, spec.sample_rate, r.seconds);
        println!("  Integrated loudness  {:>7} LUFS", figure(r.integrated));
        println!("  Loudness range       {:>7} LU", figure(Some(r.range)));
        println!("  True peak            {:>7} dBTP", figure(r.true_peak));
        println!("  Max momentary        {:>7} LUFS", figure(max_m));
        println!("  Max short-term       {:>7} LUFS", figure(max_s));
    }
    Ok(())
}
