//! TAI time and grain indices (ARCHITECTURE.md §3, MXL-LAYOUT.md §8).
//!
//! Time is nanoseconds of TAI since the SMPTE ST 2059 epoch (1970-01-01 TAI).
//! A grain's index is its timestamp times the flow's rate, so every process
//! can work out which grain is "now" without asking anyone.

use crate::Rational;

/// Returned by the conversions when the rate has a zero part; libmxl's
/// `MXL_UNDEFINED_INDEX`.
pub const UNDEFINED_INDEX: u64 = u64::MAX;

const NS_PER_S: u128 = 1_000_000_000;

/// A source of TAI time. The system clock stands in until PTP disciplines
/// the clock; a PTP-driven source implements this same trait.
pub trait TaiClock: Send + Sync {
    /// Nanoseconds of TAI since 1970-01-01 TAI.
    fn now_tai_ns(&self) -> u64;
    /// Whether a time reference (PTP) disciplines this clock.
    fn is_locked(&self) -> bool;
}

/// The kernel's `CLOCK_TAI`, which equals `CLOCK_REALTIME` plus the kernel's
/// TAI offset (0 unless ptp4l or chrony set it, as libmxl also assumes).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl TaiClock for SystemClock {
    fn now_tai_ns(&self) -> u64 {
        now_tai_ns()
    }
    fn is_locked(&self) -> bool {
        false
    }
}

/// `CLOCK_TAI` now, in nanoseconds.
pub fn now_tai_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Tai);
    // CLOCK_TAI is never before 1970 on a running system; clamp rather than wrap.
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The index of the grain (or sample) at `tai_ns` at `rate`, rounded to the
/// nearest index as libmxl does: `(t·num + 5e8·den) / (1e9·den)`.
pub fn timestamp_to_index(tai_ns: u64, rate: Rational) -> u64 {
    let num = u128::from(rate.numerator());
    let den = u128::from(rate.denominator());
    let index = (u128::from(tai_ns) * num + NS_PER_S / 2 * den) / (NS_PER_S * den);
    u64::try_from(index).unwrap_or(UNDEFINED_INDEX)
}

/// The timestamp of grain `index` at `rate`: `(i·den·1e9 + num/2) / num`.
pub fn index_to_timestamp(index: u64, rate: Rational) -> u64 {
    let num = u128::from(rate.numerator());
    let den = u128::from(rate.denominator());
    let ts = (u128::from(index) * den * NS_PER_S + num / 2) / num;
    u64::try_from(ts).unwrap_or(u64::MAX)
}

/// The index of the grain that is "now" on `clock`.
///
/// ```
/// use stagebox_flow::{Rational, SystemClock, current_index, index_to_timestamp, TaiClock};
/// let rate = Rational::new(50, 1).unwrap();
/// let i = current_index(&SystemClock, rate);
/// let t = index_to_timestamp(i, rate);
/// assert!(t.abs_diff(SystemClock.now_tai_ns()) < 1_000_000_000);
/// ```
pub fn current_index(clock: &dyn TaiClock, rate: Rational) -> u64 {
    timestamp_to_index(clock.now_tai_ns(), rate)
}

/// Nanoseconds from now until grain `index` starts (0 if it already has).
pub fn ns_until_index(clock: &dyn TaiClock, index: u64, rate: Rational) -> u64 {
    index_to_timestamp(index, rate).saturating_sub(clock.now_tai_ns())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u64, d: u64) -> Rational {
        Rational::new(n, d).unwrap()
    }

    #[test]
    fn indices_round_to_nearest_like_libmxl() {
        // 50 Hz: grain 1 starts at 20 ms; 9.999 ms rounds down, 10 ms rounds up.
        assert_eq!(timestamp_to_index(20_000_000, r(50, 1)), 1);
        assert_eq!(timestamp_to_index(9_999_999, r(50, 1)), 0);
        assert_eq!(timestamp_to_index(10_000_000, r(50, 1)), 1);
        assert_eq!(index_to_timestamp(1, r(50, 1)), 20_000_000);
        // 29.97: grain 1 at 33,366,667 ns (rounded).
        assert_eq!(index_to_timestamp(1, r(30000, 1001)), 33_366_667);
        assert_eq!(timestamp_to_index(33_366_667, r(30000, 1001)), 1);
        // 48 kHz samples.
        assert_eq!(timestamp_to_index(1_000_000_000, r(48000, 1)), 48_000);
    }

    #[test]
    fn round_trips_without_drift_for_a_year_of_grains() {
        let rate = r(60000, 1001);
        let year = 365 * 24 * 3600 * 60;
        for i in [0, 1, 2, 1000, 1_000_001, year, year * 56] {
            assert_eq!(timestamp_to_index(index_to_timestamp(i, rate), rate), i);
        }
    }

    #[test]
    fn no_overflow_at_present_day_timestamps() {
        let now = 1_795_000_000_000_000_000; // 2026 in TAI ns
        let i = timestamp_to_index(now, r(48000, 1));
        assert_eq!(i, 86_160_000_000_000);
        assert_eq!(index_to_timestamp(i, r(48000, 1)), now);
    }

    #[test]
    #[cfg_attr(miri, ignore = "calls clock_gettime")]
    fn system_clock_is_close_to_realtime() {
        let tai = SystemClock.now_tai_ns();
        let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        // CLOCK_TAI = REALTIME + kernel TAI offset (0 or 37 s).
        assert!(tai >= unix - 1_000_000_000 && tai <= unix + 38_000_000_000);
    }
}
