//! Flow benchmarks (filled in below).
fn main() {}
