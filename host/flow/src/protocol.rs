//! The commit and read protocol of a ring, written over plain atomics.
//!
//! The mapped-file code hands these functions atomics that live in shared
//! memory; the loom model at the bottom of this file hands them loom atomics.
//! Keeping the protocol here, apart from the mapping, is what lets loom check
//! every interleaving of a writer and a reader.
//!
//! # Discrete slots: a generation check
//!
//! Each grain slot's header holds the absolute `index` of the grain it
//! carries. The writer treats that field as a sequence lock:
//!
//! 1. `grant(i)`: `valid_slices = 0`, then `index = i` (release), then a
//!    release fence, then the payload is written.
//! 2. `commit(i, n)`: `valid_slices = n` (release), then `head_index = i`
//!    (release), then `sync_counter += 1` and a futex wake.
//!
//! A reader loads `head_index` (acquire), the slot's `index` (acquire) and
//! `valid_slices` (acquire), reads the payload, issues an acquire fence and
//! loads `index` again. If the second load still says `i`, no byte it read
//! came from a later grain: a write from a later `grant` is ordered after that
//! grant's `index` store by the writer's release fence. libmxl has no such
//! check; a Stagebox reader can always tell a torn read from a good one.
//!
//! # Continuous rings
//!
//! A window of `count` samples ending at `index` is intact after the read when
//! `index - count >= head - L/2`, with `head` loaded after an acquire fence:
//! the writer never writes more than `L/2` samples past its head.

use crate::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering, fence};

/// The per-flow words shared by every slot.
pub(crate) struct RingHead<'a> {
    pub(crate) head_index: &'a AtomicU64,
    pub(crate) sync_counter: &'a AtomicU32,
}

/// The words of one grain slot's header that take part in the protocol.
pub(crate) struct SlotHead<'a> {
    pub(crate) index: &'a AtomicU64,
    pub(crate) flags: &'a AtomicU32,
    pub(crate) valid_slices: &'a AtomicU16,
    pub(crate) total_slices: &'a AtomicU16,
}

/// Why a grain or sample window cannot be read (yet, or any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// Not written yet (or not complete enough).
    TooEarly,
    /// Overwritten, before or during the read.
    TooLate,
}

/// Writer: claim `slot` for grain `index` before writing its payload.
pub(crate) fn grant(slot: &SlotHead<'_>, index: u64) {
    slot.valid_slices.store(0, Ordering::Relaxed);
    slot.flags.store(0, Ordering::Relaxed);
    slot.index.store(index, Ordering::Release);
    // Orders the index store before every payload store that follows, so a
    // reader that sees any new payload byte also sees the new index.
    fence(Ordering::Release);
}

/// Writer: publish `valid` slices of grain `index` and advance the head.
/// The caller then wakes futex waiters.
pub(crate) fn commit(ring: &RingHead<'_>, slot: &SlotHead<'_>, index: u64, valid: u16, flags: u32) {
    slot.flags.store(flags, Ordering::Relaxed);
    slot.valid_slices.store(valid, Ordering::Release);
    ring.head_index.store(index, Ordering::Release);
    ring.sync_counter.fetch_add(1, Ordering::Release);
}

/// Reader: may grain `index` be read from `slot` now, with at least
/// `min_valid` slices? Returns the slot's `valid_slices` on success.
pub(crate) fn check_grain(
    ring: &RingHead<'_>,
    slot: &SlotHead<'_>,
    index: u64,
    grain_count: u64,
    min_valid: u16,
) -> Result<u16, Miss> {
    let head = ring.head_index.load(Ordering::Acquire);
    if index > head {
        return Err(Miss::TooEarly);
    }
    if head >= grain_count && index < head - grain_count + 1 {
        return Err(Miss::TooLate);
    }
    let held = slot.index.load(Ordering::Acquire);
    if held > index {
        return Err(Miss::TooLate);
    }
    if held < index {
        // Head says written but the slot was never granted for this index:
        // a writer skipped it (or another writer got there first).
        return Err(Miss::TooEarly);
    }
    let valid = slot.valid_slices.load(Ordering::Acquire);
    let total = slot.total_slices.load(Ordering::Relaxed);
    let invalid = slot.flags.load(Ordering::Relaxed) & crate::layout::GRAIN_FLAG_INVALID != 0;
    if valid >= min_valid.min(total) || invalid { Ok(valid) } else { Err(Miss::TooEarly) }
}

/// Reader: after reading a grain's payload, is it still grain `index`?
pub(crate) fn recheck_grain(slot: &SlotHead<'_>, index: u64) -> bool {
    fence(Ordering::Acquire);
    slot.index.load(Ordering::Relaxed) == index
}

/// Writer: about to write samples of a continuous ring.
pub(crate) fn grant_samples() {
    fence(Ordering::Release);
}

/// Writer: publish samples up to `index`. Returns whether waiters should be
/// woken, following libmxl's sync-batch rule (MXL-LAYOUT.md §6), and updates
/// `last_batch`.
pub(crate) fn commit_samples(
    ring: &RingHead<'_>,
    index: u64,
    sync_hint: u64,
    commit_hint: u64,
    last_batch: &mut u64,
) -> bool {
    ring.head_index.store(index, Ordering::Release);
    let wake = sync_batch_complete(index, sync_hint, commit_hint, last_batch);
    if wake {
        ring.sync_counter.fetch_add(1, Ordering::Release);
    }
    wake
}

/// libmxl's rule for when a continuous commit completes a sync batch.
pub(crate) fn sync_batch_complete(head: u64, sync_hint: u64, commit_hint: u64, last: &mut u64) -> bool {
    let s = sync_hint.max(1);
    let m = commit_hint.max(1);
    let threshold = s.saturating_sub(m);
    let batch = head / s;
    if batch < *last {
        false
    } else if batch == *last {
        if head % s > threshold {
            *last = batch + 1;
            true
        } else {
            false
        }
    } else {
        *last = batch;
        true
    }
}

/// Reader: may the window of `count` samples ending at `index` be read?
pub(crate) fn check_samples(ring: &RingHead<'_>, index: u64, count: u64, buffer_length: u64) -> Result<(), Miss> {
    let head = ring.head_index.load(Ordering::Acquire);
    window_state(head, index, count, buffer_length)
}

/// Reader: after reading a window, was any of it overwritten meanwhile?
pub(crate) fn recheck_samples(ring: &RingHead<'_>, index: u64, count: u64, buffer_length: u64) -> bool {
    fence(Ordering::Acquire);
    let head = ring.head_index.load(Ordering::Relaxed);
    index - count >= head.saturating_sub(buffer_length / 2)
}

/// libmxl's continuous read rule (MXL-LAYOUT.md §6).
pub(crate) fn window_state(head: u64, index: u64, count: u64, buffer_length: u64) -> Result<(), Miss> {
    if index > head {
        return Err(Miss::TooEarly);
    }
    let min = head.saturating_sub(buffer_length / 2);
    if index < min || index - min < count {
        return Err(Miss::TooLate);
    }
    Ok(())
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sync_batches_follow_libmxl() {
        // 48 kHz, commit 480, sync 480: every commit of a whole batch wakes.
        let mut last = 0;
        assert!(!sync_batch_complete(0, 480, 480, &mut last));
        assert!(sync_batch_complete(480, 480, 480, &mut last));
        assert_eq!(last, 1);
        assert!(sync_batch_complete(960, 480, 480, &mut last));
        assert_eq!(last, 2);
        // sync 960 with commit 480: only every other commit wakes.
        let mut last = 0;
        assert!(!sync_batch_complete(480, 960, 480, &mut last));
        assert!(sync_batch_complete(959, 960, 480, &mut last));
        assert!(!sync_batch_complete(960, 960, 480, &mut last));
        assert!(sync_batch_complete(1919, 960, 480, &mut last));
    }

    #[test]
    fn sample_windows_follow_libmxl() {
        let l = 1024;
        assert_eq!(window_state(100, 101, 1, l), Err(Miss::TooEarly));
        assert_eq!(window_state(100, 100, 100, l), Ok(()));
        assert_eq!(window_state(100, 100, 101, l), Err(Miss::TooLate));
        assert_eq!(window_state(2000, 2000, 512, l), Ok(()));
        assert_eq!(window_state(2000, 2000, 513, l), Err(Miss::TooLate));
        assert_eq!(window_state(2000, 1487, 1, l), Err(Miss::TooLate));
        assert_eq!(window_state(2000, 1489, 1, l), Ok(()));
    }
}

/// Loom models of the protocol: run with
/// `RUSTFLAGS="--cfg loom" cargo test -p stagebox-flow --lib --release`.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    const WORDS: usize = 2;

    struct Slot {
        index: AtomicU64,
        flags: AtomicU32,
        valid: AtomicU16,
        total: AtomicU16,
        payload: [AtomicU64; WORDS],
    }

    struct Ring {
        head: AtomicU64,
        sync: AtomicU32,
        slots: Vec<Slot>,
    }

    impl Ring {
        fn new(grains: usize) -> Self {
            let slots = (0..grains)
                .map(|_| Slot {
                    // A new slot, as created: index 0, no valid slices.
                    index: AtomicU64::new(0),
                    flags: AtomicU32::new(0),
                    valid: AtomicU16::new(0),
                    total: AtomicU16::new(1),
                    payload: [AtomicU64::new(0), AtomicU64::new(0)],
                })
                .collect();
            Ring { head: AtomicU64::new(0), sync: AtomicU32::new(0), slots }
        }
        fn head(&self) -> RingHead<'_> {
            RingHead { head_index: &self.head, sync_counter: &self.sync }
        }
        fn slot(&self, index: u64) -> SlotHead<'_> {
            let s = &self.slots[(index % self.slots.len() as u64) as usize];
            SlotHead { index: &s.index, flags: &s.flags, valid_slices: &s.valid, total_slices: &s.total }
        }
        fn payload(&self, index: u64) -> &[AtomicU64; WORDS] {
            &self.slots[(index % self.slots.len() as u64) as usize].payload
        }
    }

    fn pattern(index: u64, word: usize) -> u64 {
        index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ word as u64
    }

    fn write(ring: &Ring, index: u64) {
        let slot = ring.slot(index);
        grant(&slot, index);
        for (w, word) in ring.payload(index).iter().enumerate() {
            word.store(pattern(index, w), Ordering::Relaxed);
        }
        commit(&ring.head(), &slot, index, 1, 0);
    }

    /// A reader that the protocol says read grain `index` intact saw every
    /// payload word of that grain, never one of a later grain.
    #[test]
    fn intact_reads_are_never_torn() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(1));
            write(&ring, 0);
            let writer = {
                let ring = ring.clone();
                thread::spawn(move || {
                    write(&ring, 1);
                    write(&ring, 2);
                })
            };
            for index in 0..=2u64 {
                let slot = ring.slot(index);
                if check_grain(&ring.head(), &slot, index, 1, u16::MAX).is_ok() {
                    let seen: Vec<u64> = ring.payload(index).iter().map(|w| w.load(Ordering::Relaxed)).collect();
                    if recheck_grain(&slot, index) {
                        for (w, v) in seen.iter().enumerate() {
                            assert_eq!(*v, pattern(index, w), "torn read of grain {index} passed the check");
                        }
                    }
                }
            }
            writer.join().unwrap();
        });
    }

    /// A reader that sees the head at `i` finds grain `i` complete.
    #[test]
    fn head_implies_committed_grain() {
        loom::model(|| {
            let ring = Arc::new(Ring::new(2));
            let writer = {
                let ring = ring.clone();
                thread::spawn(move || write(&ring, 1))
            };
            let head = ring.head.load(Ordering::Acquire);
            if head == 1 {
                let slot = ring.slot(1);
                assert_eq!(check_grain(&ring.head(), &slot, 1, 2, u16::MAX), Ok(1));
                for (w, word) in ring.payload(1).iter().enumerate() {
                    assert_eq!(word.load(Ordering::Relaxed), pattern(1, w));
                }
            }
            writer.join().unwrap();
        });
    }
}
