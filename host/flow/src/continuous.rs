//! Continuous flows: audio samples in one ring per channel, read by range.
//!
//! A window `(index, count)` is the `count` samples ending at `index`
//! (inclusive, as in libmxl): samples `index - count + 1 ..= index`. Sample
//! `j` lives in slot `(j - 1) mod L` of each channel's ring.

use crate::descriptor::FlowDescriptor;
use crate::error::{FlowError, ReadError};
use crate::files::{Body, ContinuousShape, FlowFiles, MappedFile};
use crate::layout::data_off;
use crate::protocol::{self, Miss, RingHead};
use crate::sync::atomic::Ordering::{Acquire, Relaxed};
use crate::time::now_tai_ns;
use crate::waiting::{self, FlowStatus};
use std::time::Duration;
use uuid::Uuid;

fn ring(files: &FlowFiles) -> RingHead<'_> {
    RingHead {
        head_index: files.data.map.u64_at(data_off::HEAD_INDEX),
        sync_counter: files.data.map.u32_at(data_off::SYNC_COUNTER),
    }
}

fn parts(files: &FlowFiles) -> (ContinuousShape, &MappedFile) {
    match &files.body {
        Body::Continuous { shape, channels } => (*shape, channels),
        // Domain only builds continuous handles on continuous flows.
        Body::Discrete { .. } => unreachable!("continuous handle on a discrete flow"),
    }
}

/// Where a window lies in each channel's ring: two fragments of slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: usize,
    len0: usize,
    len1: usize,
}

impl Window {
    /// MXL-LAYOUT.md §6: `start = (I−C) mod L`, `end = I mod L`,
    /// `len0 = C` if `start < end` else `L − start`; fragment 1 at slot 0.
    fn new(index: u64, count: u64, buffer_length: u64) -> Window {
        let start = ((index - count) % buffer_length) as usize;
        let end = (index % buffer_length) as usize;
        let count = count as usize;
        let len0 = if start < end { count } else { buffer_length as usize - start };
        Window { start, len0, len1: count - len0 }
    }
}

/// The single writer of a continuous flow.
pub struct ContinuousWriter {
    files: FlowFiles,
    shape: ContinuousShape,
    last_batch: u64,
}

impl ContinuousWriter {
    pub(crate) fn new(files: FlowFiles) -> Self {
        let (shape, _) = parts(&files);
        ContinuousWriter { files, shape, last_batch: 0 }
    }

    /// The flow's descriptor.
    pub fn descriptor(&self) -> &FlowDescriptor {
        &self.files.descriptor
    }

    /// The flow's id.
    pub fn id(&self) -> Uuid {
        self.files.descriptor.id()
    }

    /// Samples each channel's ring holds (`L`).
    pub fn buffer_length(&self) -> u64 {
        self.shape.buffer_length
    }

    /// The most samples one grant may cover (`L/2`).
    pub fn max_window(&self) -> u64 {
        self.shape.buffer_length / 2
    }

    /// The last committed sample index.
    pub fn head_index(&self) -> u64 {
        ring(&self.files).head_index.load(Acquire)
    }

    /// Claims the window of `count` samples ending at `index`, to be filled
    /// per channel and then committed.
    pub fn grant(&mut self, index: u64, count: u64) -> Result<SamplesMut<'_>, FlowError> {
        if count == 0 || count > self.max_window() || count > index {
            return Err(FlowError::InvalidArgument(format!(
                "window of {count} samples ending at {index}: need 1..={} samples and index >= count",
                self.max_window()
            )));
        }
        protocol::grant_samples();
        let window = Window::new(index, count, self.shape.buffer_length);
        Ok(SamplesMut { writer: self, index, window })
    }
}

impl Drop for ContinuousWriter {
    fn drop(&mut self) {
        crate::discrete::release(&self.files);
    }
}

/// A granted window of samples, written per channel in place.
pub struct SamplesMut<'w> {
    writer: &'w mut ContinuousWriter,
    index: u64,
    window: Window,
}

impl SamplesMut<'_> {
    /// Channel `channel`'s part of the window as two byte fragments (the
    /// second is empty unless the window wraps around the ring).
    pub fn channel_mut(&mut self, channel: u32) -> Result<(&mut [u8], &mut [u8]), FlowError> {
        let (shape, file) = parts(&self.writer.files);
        if channel >= shape.channels {
            return Err(FlowError::InvalidArgument(format!("channel {channel} of {}", shape.channels)));
        }
        let word = shape.word_size as usize;
        let base = channel as usize * shape.buffer_length as usize * word;
        let w = self.window;
        let a = file.map.bytes_mut(base + w.start * word, w.len0 * word);
        let b = file.map.bytes_mut(base, w.len1 * word);
        Ok((a, b))
    }

    /// Writes `samples` (one per slot of the window) into `channel` of a
    /// 32-bit float flow.
    pub fn write_f32(&mut self, channel: u32, samples: &[f32]) -> Result<(), FlowError> {
        let (shape, _) = parts(&self.writer.files);
        let wanted = self.window.len0 + self.window.len1;
        if shape.word_size != 4 || samples.len() != wanted {
            return Err(FlowError::InvalidArgument(format!(
                "write_f32 of {} samples into a {wanted}-sample window of {}-byte words",
                samples.len(),
                shape.word_size
            )));
        }
        let (a, b) = self.channel_mut(channel)?;
        let (first, second) = samples.split_at(a.len() / 4);
        for (dst, s) in a.chunks_exact_mut(4).zip(first).chain(b.chunks_exact_mut(4).zip(second)) {
            dst.copy_from_slice(&s.to_ne_bytes());
        }
        Ok(())
    }

    /// Publishes the window: the head moves to its last sample, and readers
    /// are woken when a sync batch completes.
    pub fn commit(self) {
        let w = self.writer;
        let shape = w.shape;
        let woke = protocol::commit_samples(
            &ring(&w.files),
            self.index,
            u64::from(shape.sync_hint),
            u64::from(shape.commit_hint),
            &mut w.last_batch,
        );
        w.files.data.map.u64_at(data_off::LAST_WRITE_TIME).store(now_tai_ns(), Relaxed);
        if woke {
            waiting::wake_all(&w.files);
        }
    }
}

/// A reader of a continuous flow.
pub struct ContinuousReader {
    files: FlowFiles,
    shape: ContinuousShape,
}

impl ContinuousReader {
    pub(crate) fn new(files: FlowFiles) -> Self {
        let (shape, _) = parts(&files);
        ContinuousReader { files, shape }
    }

    /// The flow's descriptor.
    pub fn descriptor(&self) -> &FlowDescriptor {
        &self.files.descriptor
    }

    /// Samples each channel's ring holds (`L`).
    pub fn buffer_length(&self) -> u64 {
        self.shape.buffer_length
    }

    /// Channels in the flow.
    pub fn channels(&self) -> u32 {
        self.shape.channels
    }

    /// The last committed sample index.
    pub fn head_index(&self) -> u64 {
        ring(&self.files).head_index.load(Acquire)
    }

    /// Whether the flow's writer is alive. Costs a few system calls.
    pub fn status(&self) -> FlowStatus {
        FlowStatus::of(&self.files)
    }

    /// Borrows the `count` samples ending at `index` without copying.
    pub fn get(&self, index: u64, count: u64) -> Result<SamplesView<'_>, ReadError> {
        let ring = ring(&self.files);
        if count == 0 || count > index {
            // An empty or negative window is never readable.
            return Err(ReadError::TooLate { index, head: ring.head_index.load(Relaxed) });
        }
        match protocol::check_samples(&ring, index, count, self.shape.buffer_length) {
            Ok(()) => Ok(SamplesView {
                reader: self,
                index,
                count,
                window: Window::new(index, count, self.shape.buffer_length),
            }),
            Err(miss) => {
                let head = ring.head_index.load(Relaxed);
                Err(match miss {
                    Miss::TooEarly => ReadError::TooEarly { index, head },
                    Miss::TooLate => ReadError::TooLate { index, head },
                })
            }
        }
    }

    /// Waits up to `timeout` for the window ending at `index` to be written.
    pub fn wait(&self, index: u64, count: u64, timeout: Duration) -> Result<SamplesView<'_>, ReadError> {
        waiting::wait_for(&self.files, timeout, || self.get(index, count))
    }
}

/// A borrowed, zero-copy view of a window of samples.
pub struct SamplesView<'r> {
    reader: &'r ContinuousReader,
    index: u64,
    count: u64,
    window: Window,
}

impl SamplesView<'_> {
    /// The index of the window's last sample.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Samples in the window.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Channel `channel`'s samples as two byte fragments (the second is empty
    /// unless the window wraps). `None` if there is no such channel.
    pub fn channel(&self, channel: u32) -> Option<(&[u8], &[u8])> {
        let (shape, file) = parts(&self.reader.files);
        if channel >= shape.channels {
            return None;
        }
        let word = shape.word_size as usize;
        let base = channel as usize * shape.buffer_length as usize * word;
        let w = self.window;
        Some((file.map.bytes(base + w.start * word, w.len0 * word), file.map.bytes(base, w.len1 * word)))
    }

    /// Succeeds if no sample of the window was overwritten so far.
    pub fn check(&self) -> Result<(), ReadError> {
        let ring = ring(&self.reader.files);
        if protocol::recheck_samples(&ring, self.index, self.count, self.reader.shape.buffer_length) {
            Ok(())
        } else {
            Err(ReadError::TooLate { index: self.index, head: ring.head_index.load(Relaxed) })
        }
    }

    /// Copies channel `channel` of a 32-bit float flow into `out` and checks
    /// that the copy is not torn.
    pub fn read_f32(&self, channel: u32, out: &mut Vec<f32>) -> Result<(), ReadError> {
        out.clear();
        if self.reader.shape.word_size == 4
            && let Some((a, b)) = self.channel(channel)
        {
            out.extend(
                a.chunks_exact(4).chain(b.chunks_exact(4)).map(|w| f32::from_ne_bytes([w[0], w[1], w[2], w[3]])),
            );
        }
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn windows_split_like_libmxl() {
        // L = 8: samples 1..=4 are slots 0..=3.
        assert_eq!(Window::new(4, 4, 8), Window { start: 0, len0: 4, len1: 0 });
        // samples 7..=10 are slots 6, 7, 0, 1.
        assert_eq!(Window::new(10, 4, 8), Window { start: 6, len0: 2, len1: 2 });
        // ending exactly at the ring's end: samples 5..=8 are slots 4..=7.
        assert_eq!(Window::new(8, 4, 8), Window { start: 4, len0: 4, len1: 0 });
    }
}
