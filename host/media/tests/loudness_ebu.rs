//! The loudness meter against the EBU Tech 3341 and 3342 test signals,
//! generated from their definitions, within the tolerances those documents
//! state.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::loudness::{Meter, Reading};
use support::ebu::{self, Readout};

fn readout(r: Reading) -> Readout {
    Readout {
        momentary: r.momentary,
        short_term: r.short_term,
        integrated: r.integrated,
        range: r.range,
        true_peak: r.true_peak,
    }
}

#[test]
fn every_generated_ebu_case_passes_within_tolerance() {
    let mut failures = Vec::new();
    for case in ebu::cases() {
        let mut meter = Meter::new(case.rate, case.channels as u32).unwrap();
        let result = case.run(|block| {
            meter.add_planar(block).unwrap();
            readout(meter.reading())
        });
        match result {
            Ok(last) => eprintln!("{}: {last:?}", case.name),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn interleaved_and_planar_input_read_the_same() {
    let case = ebu::cases().into_iter().find(|c| c.name == "3341-5").unwrap();
    let mut planar = Meter::new(case.rate, 2).unwrap();
    planar.add_planar(&case.planar()).unwrap();
    let mut interleaved = Meter::new(case.rate, 2).unwrap();
    for chunk in case.interleaved().chunks(2 * 4800) {
        interleaved.add_interleaved(chunk).unwrap();
    }
    assert_eq!(planar.reading(), interleaved.reading());
}

#[test]
fn the_meter_is_not_fooled_by_a_sine_that_misses_its_peaks() {
    // The point of true peak: case 19's samples never pass -3 dBFS, yet the
    // reconstructed wave reaches 0 dBTP.
    let case = ebu::cases().into_iter().find(|c| c.name == "3341-19").unwrap();
    let sample_peak = case.planar().iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(20.0 * f64::from(sample_peak).log10() < -2.9, "{sample_peak}");
    let mut meter = Meter::new(case.rate, 1).unwrap();
    meter.add_planar(&case.planar()).unwrap();
    let tp = meter.reading().true_peak.unwrap();
    assert!(tp > -0.4, "true peak {tp} dBTP");
}

#[test]
fn reset_starts_a_new_programme() {
    let case = ebu::cases().into_iter().find(|c| c.name == "3341-1").unwrap();
    let mut meter = Meter::new(case.rate, 2).unwrap();
    meter.add_planar(&case.planar()).unwrap();
    assert!(meter.reading().integrated.is_some());
    meter.reset();
    let r = meter.reading();
    assert_eq!((r.integrated, r.true_peak, r.seconds), (None, None, 0.0));
}
