//! A node's input: the grains of its upstream node's flow, in order, each
//! copied out and checked against tearing.
//!
//! The upstream writer may restart (its node changed), skip an index, or
//! go away for a while; the input follows it without failing: it reopens a
//! flow that was replaced, steps over skipped indices, and counts grains it
//! was too slow to read.

use super::node::NodeStatus;
use stagebox_flow::{DiscreteReader, Domain, ReadError, UNDEFINED_INDEX};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// One grain, copied out of the flow.
#[derive(Debug, Clone, Default)]
pub struct Grain {
    /// Its index.
    pub index: u64,
    /// Its origin time, TAI ns.
    pub timestamp: u64,
    /// Whether the writer marked it invalid.
    pub invalid: bool,
    /// The payload.
    pub data: Vec<u8>,
}

/// Reads one flow of the domain.
pub struct Input {
    domain: Domain,
    id: Uuid,
    reader: Option<DiscreteReader>,
    next: Option<u64>,
    /// Whether a grain was read from the current reader: until then an
    /// overwritten index is where we started, not a grain lost.
    reading: bool,
}

/// How long to wait before looking again at a flow with no writer.
const IDLE: Duration = Duration::from_millis(10);

impl Input {
    /// An input reading flow `id`, from the first grain committed after the
    /// first call.
    pub fn new(domain: Domain, id: Uuid) -> Input {
        Input { domain, id, reader: None, next: None, reading: false }
    }

    /// The next grain, or `None` if none came within `timeout`.
    pub fn next(&mut self, timeout: Duration, status: &NodeStatus) -> Option<Grain> {
        let deadline = Instant::now() + timeout;
        if self.reader.is_none() {
            match self.domain.open_discrete(self.id) {
                Ok(r) => self.reader = Some(r),
                Err(_) => {
                    std::thread::sleep(IDLE.min(timeout));
                    return None;
                }
            }
        }
        let reader = self.reader.as_ref()?;
        // Bounded: each turn moves `next` on or returns.
        for _ in 0..1024 {
            let head = reader.head_index();
            let remaining = deadline.saturating_duration_since(Instant::now());
            if head == UNDEFINED_INDEX {
                std::thread::sleep(IDLE.min(remaining));
                if remaining.is_zero() {
                    return None;
                }
                continue;
            }
            let next = *self.next.get_or_insert(head + 1);
            match reader.wait(next, remaining) {
                Ok(view) => {
                    let mut grain = Grain {
                        index: next,
                        timestamp: view.timestamp_tai_ns(),
                        invalid: view.is_invalid(),
                        data: Vec::new(),
                    };
                    let copied = view.copy_into(&mut grain.data);
                    self.next = Some(next + 1);
                    self.reading = true;
                    if copied.is_err() {
                        // Overwritten while we copied it.
                        status.missed_in.fetch_add(1, Relaxed);
                        continue;
                    }
                    status.grains_in.fetch_add(1, Relaxed);
                    return Some(grain);
                }
                Err(ReadError::TooLate { head, .. }) => {
                    // Too slow: take up again at the newest grain.
                    if self.reading {
                        status.missed_in.fetch_add(head.saturating_sub(next).max(1), Relaxed);
                    }
                    self.next = Some(head);
                }
                Err(ReadError::TooEarly { head, .. }) if head != UNDEFINED_INDEX && head >= next => {
                    // The writer skipped this index (it restarted later in time).
                    self.next = Some(if head - next >= reader.grain_count() { head } else { next + 1 });
                }
                Err(ReadError::TooEarly { .. }) => return None,
                Err(ReadError::WriterGone) => {
                    std::thread::sleep(IDLE.min(remaining));
                    return None;
                }
                Err(ReadError::FlowRemoved) => {
                    // Replaced by a new writer: read the new one from its start.
                    self.reader = None;
                    self.next = None;
                    self.reading = false;
                    return None;
                }
            }
        }
        None
    }
}
