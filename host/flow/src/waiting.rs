//! What readers of both kinds share: blocking on the futex, telling a dead
//! writer from a slow one, and touching the `access` file sparingly.

use crate::error::ReadError;
use crate::files::{self, FlowFiles};
use crate::layout::data_off;
use crate::sync::atomic::Ordering;
use std::cell::Cell;
use std::fs::File;
use std::time::{Duration, Instant};

/// How often a blocked reader checks that the writer is still alive.
const LIVENESS_PERIOD: Duration = Duration::from_millis(100);
/// The most often a reader touches `access` (libmxl: on every read).
const TOUCH_PERIOD_NS: u64 = 250_000_000;

/// Whether a flow can still produce grains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowStatus {
    /// A writer holds the flow.
    Live,
    /// No writer holds the flow: it crashed or stopped. A new writer may take
    /// it over; until then nothing new arrives.
    WriterGone,
    /// The flow folder was removed or replaced; reopen by id to follow it.
    Removed,
}

impl FlowStatus {
    pub(crate) fn of(files: &FlowFiles) -> FlowStatus {
        if !files::same_flow(&files.dir, files.inode) {
            return FlowStatus::Removed;
        }
        match files::writer_active(&files.dir.join("data")) {
            Ok(true) => FlowStatus::Live,
            Ok(false) => FlowStatus::WriterGone,
            Err(_) => FlowStatus::Removed,
        }
    }

    fn into_error(self) -> Option<ReadError> {
        match self {
            FlowStatus::Live => None,
            FlowStatus::WriterGone => Some(ReadError::WriterGone),
            FlowStatus::Removed => Some(ReadError::FlowRemoved),
        }
    }
}

/// Calls `attempt` until it stops answering `TooEarly`, sleeping on the
/// flow's futex in between. Returns `WriterGone` or `FlowRemoved` as soon as
/// the writer is found dead (checked every [`LIVENESS_PERIOD`] without a
/// wake, and at the deadline), and the last `TooEarly` at the deadline.
pub(crate) fn wait_for<T>(
    files: &FlowFiles,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, ReadError>,
) -> Result<T, ReadError> {
    let deadline = Instant::now() + timeout;
    let counter = files.data.map.u32_at(data_off::SYNC_COUNTER);
    loop {
        let seen = counter.load(Ordering::Acquire);
        let early = match attempt() {
            Err(e @ ReadError::TooEarly { .. }) => e,
            other => return other,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(FlowStatus::of(files).into_error().unwrap_or(early));
        }
        let slice = (deadline - now).min(LIVENESS_PERIOD);
        let ts = rustix::time::Timespec { tv_sec: slice.as_secs() as i64, tv_nsec: i64::from(slice.subsec_nanos()) };
        // Not FUTEX_PRIVATE: the word is shared between processes (§7).
        // Woken, the counter moved before we slept (EAGAIN) or a signal:
        // look again. Timed out: first make sure the writer is alive.
        let slept = rustix::thread::futex::wait(counter, rustix::thread::futex::Flags::empty(), seen, Some(&ts));
        if slept == Err(rustix::io::Errno::TIMEDOUT)
            && let Some(e) = FlowStatus::of(files).into_error()
        {
            return Err(e);
        }
    }
}

/// Wakes every process blocked on the flow's futex.
pub(crate) fn wake_all(files: &FlowFiles) {
    let counter = files.data.map.u32_at(data_off::SYNC_COUNTER);
    // An error here can only mean a bad address, which the mapping rules out.
    let _ = rustix::thread::futex::wake(counter, rustix::thread::futex::Flags::empty(), i32::MAX as u32);
}

/// `CLOCK_MONOTONIC_COARSE` in ns: answered by the vDSO, no system call.
pub(crate) fn coarse_now_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Touches a discrete flow's `access` file so that the writer (libmxl's or
/// ours) can tell the flow is being read, at most four times a second
/// instead of libmxl's once per read.
pub(crate) struct AccessToucher {
    file: Option<File>,
    next_ns: Cell<u64>,
}

impl AccessToucher {
    pub(crate) fn new(files: &FlowFiles) -> Self {
        AccessToucher { file: File::open(files.dir.join("access")).ok(), next_ns: Cell::new(0) }
    }

    pub(crate) fn touch(&self) {
        let now = coarse_now_ns();
        if now < self.next_ns.get() {
            return;
        }
        self.next_ns.set(now + TOUCH_PERIOD_NS);
        if let Some(file) = &self.file {
            let times = rustix::fs::Timestamps {
                last_access: rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW },
                last_modification: rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
            };
            // As in libmxl, failing to touch is not an error for the reader.
            let _ = rustix::fs::futimens(file, &times);
        }
    }
}
