//! What the reference-decoder tests share: a deterministic generator and
//! the Python that `cargo xtask setup` puts in `target/py`.

#![allow(dead_code, clippy::unwrap_used)] // each test uses what it needs

use std::path::PathBuf;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bits(&mut self, n: u32) -> u64 {
        self.next() >> (64 - n)
    }
    pub fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Printable ASCII.
    pub fn ascii(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| b' ' + self.below(95) as u8).collect()
    }
    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

/// The worked examples of ANSI/SCTE 35 2023 §14.1–§14.7: (name, base64),
/// from `tests/data/scte35_spec_examples.txt`.
pub fn scte35_spec_examples() -> Vec<(&'static str, &'static str)> {
    include_str!("../data/scte35_spec_examples.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('|'))
        .collect()
}

/// The Python with the reference decoders (threefive, pycaption). Tests
/// fail, rather than skip, without it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STAGEBOX_PYTHON") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py/bin/python3");
    assert!(p.exists(), "{} is missing: run `cargo xtask setup`", p.display());
    p
}

/// Programme-like audio, interleaved: band-limited noise whose level jumps
/// every 1.5 s between -45 and -12 dBFS, different on each channel.
pub fn programme(rate: u32, channels: usize, seconds: f64) -> Vec<f32> {
    let mut rng = Rng(0x5eed_1770);
    let frames = (seconds * f64::from(rate)) as usize;
    let mut state = vec![0.0f64; channels];
    let mut gain = vec![0.0f64; channels];
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        if i % (rate as usize * 3 / 2) == 0 {
            for g in &mut gain {
                *g = 10f64.powf((-45.0 + rng.below(34) as f64) / 20.0);
            }
        }
        for c in 0..channels {
            let white = rng.below(1 << 16) as f64 / 32768.0 - 1.0;
            state[c] += 0.3 * (white - state[c]);
            out.push((state[c] * gain[c] * 2.0) as f32);
        }
    }
    out
}

pub mod ebu;
