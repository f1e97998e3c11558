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
