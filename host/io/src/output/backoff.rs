//! Reconnecting with back-off, for the outputs that connect (SRT, RTMP):
//! the wait starts at 250 ms and doubles up to 5 s; what the channel
//! queues meanwhile is dropped and counted, so a reconnect starts live.

use crate::status::OutputCounters;
use bytes::Bytes;
use std::time::Duration;
use tokio::sync::mpsc;

/// The first wait after a failure.
const FIRST: Duration = Duration::from_millis(250);
/// The longest wait between attempts.
const MAX: Duration = Duration::from_secs(5);

/// The wait before the next attempt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { delay: FIRST }
    }
}

impl Backoff {
    /// A connection worked: the next failure waits the least again.
    pub(super) fn reset(&mut self) {
        self.delay = FIRST;
    }

    /// The next wait.
    pub(super) fn delay(&self) -> Duration {
        self.delay
    }

    /// Waits, dropping (and counting) what arrives on the queue, then
    /// doubles the next wait. Returns false when the queue was closed (the
    /// output was removed).
    pub(super) async fn wait_dropping(&mut self, queue: &mut mpsc::Receiver<Bytes>, counters: &OutputCounters) -> bool {
        let until = tokio::time::Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(MAX);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                item = queue.recv() => match item {
                    Some(stale) => counters.dropped((stale.len() / 188) as u64),
                    None => return false,
                },
            }
        }
    }
}

/// Drops (and counts) what waited in the queue while connecting.
pub(super) fn drain_stale(queue: &mut mpsc::Receiver<Bytes>, counters: &OutputCounters) {
    while let Ok(stale) = queue.try_recv() {
        counters.dropped((stale.len() / 188) as u64);
    }
}
