//! Discrete flows: one grain per index (video frames, data, TS packets).

use crate::descriptor::FlowDescriptor;
use crate::error::{FlowError, ReadError};
use crate::files::{Body, DiscreteShape, FlowFiles, MappedFile};
use crate::layout::{GRAIN_FLAG_INVALID, GRAIN_HEADER_BYTES, data_off, grain_off};
use crate::protocol::{self, Miss, RingHead, SlotHead};
use crate::sync::atomic::Ordering::{Acquire, Relaxed};
use crate::time::{index_to_timestamp, now_tai_ns};
use crate::waiting::{self, AccessToucher, FlowStatus, coarse_now_ns};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;
use uuid::Uuid;

fn ring(files: &FlowFiles) -> RingHead<'_> {
    RingHead {
        head_index: files.data.map.u64_at(data_off::HEAD_INDEX),
        sync_counter: files.data.map.u32_at(data_off::SYNC_COUNTER),
    }
}

fn slot(grain: &MappedFile) -> SlotHead<'_> {
    let m = &grain.map;
    SlotHead {
        index: m.u64_at(grain_off::INDEX),
        flags: m.u32_at(grain_off::FLAGS),
        valid_slices: m.u16_at(grain_off::VALID_SLICES),
        total_slices: m.u16_at(grain_off::TOTAL_SLICES),
    }
}

fn parts(files: &FlowFiles) -> (DiscreteShape, &[MappedFile]) {
    match &files.body {
        Body::Discrete { shape, grains } => (*shape, grains),
        // Domain only builds discrete readers and writers on discrete flows.
        Body::Continuous { .. } => unreachable!("discrete handle on a continuous flow"),
    }
}

/// The single writer of a discrete flow.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use stagebox_flow::*;
/// let domain = Domain::open(dir.path()).unwrap();
/// let rate = Rational::new(50, 1).unwrap();
/// let format = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, 1280, 720, rate));
/// let desc = FlowDescriptor::new(uuid::Uuid::new_v4(), "Cam 1", format).unwrap();
/// let mut writer = domain.create_discrete(&desc).unwrap();
/// let index = current_index(&SystemClock, rate);
/// let mut grain = writer.grant(index).unwrap();
/// grain.payload_mut().fill(0x80);
/// grain.commit().unwrap();
///
/// let reader = domain.open_discrete(desc.id()).unwrap();
/// let view = reader.get(index).unwrap();
/// assert!(view.payload().iter().all(|b| *b == 0x80));
/// view.check().unwrap(); // not overwritten while we looked
/// ```
pub struct DiscreteWriter {
    files: FlowFiles,
    shape: DiscreteShape,
    next_read_time_check: u64,
}

impl DiscreteWriter {
    pub(crate) fn new(files: FlowFiles) -> Self {
        let (shape, _) = parts(&files);
        DiscreteWriter { files, shape, next_read_time_check: 0 }
    }

    /// The flow's descriptor.
    pub fn descriptor(&self) -> &FlowDescriptor {
        &self.files.descriptor
    }

    /// The flow's id.
    pub fn id(&self) -> Uuid {
        self.files.descriptor.id()
    }

    /// Grains the ring holds.
    pub fn grain_count(&self) -> u64 {
        self.shape.grain_count
    }

    /// Bytes of payload each grain can hold.
    pub fn grain_capacity(&self) -> usize {
        self.shape.grain_size as usize
    }

    /// The last committed index.
    pub fn head_index(&self) -> u64 {
        ring(&self.files).head_index.load(Acquire)
    }

    /// Claims the slot for grain `index` and returns it to be filled in place.
    /// The slot's previous grain (`index - grain_count`) is gone from now on.
    pub fn grant(&mut self, index: u64) -> Result<GrainMut<'_>, FlowError> {
        if index == u64::MAX {
            return Err(FlowError::InvalidArgument("grain index u64::MAX is reserved".into()));
        }
        let (shape, grains) = parts(&self.files);
        let n = (index % shape.grain_count) as usize;
        protocol::grant(&slot(&grains[n]), index);
        Ok(GrainMut { writer: self, index, slot: n, len: None, timestamp: None })
    }

    /// libmxl's writer watches `access` and copies reads into `lastReadTime`.
    /// We look at the file's access time at most four times a second, on
    /// commit, instead of running a watcher thread.
    fn refresh_last_read_time(&mut self) {
        let now = coarse_now_ns();
        if now < self.next_read_time_check {
            return;
        }
        self.next_read_time_check = now + 250_000_000;
        let Ok(meta) = std::fs::metadata(self.files.dir.join("access")) else { return };
        let atime_unix_ns = (meta.atime() as u64) * 1_000_000_000 + meta.atime_nsec() as u64;
        let unix_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let tai = atime_unix_ns.saturating_add(now_tai_ns().saturating_sub(unix_now));
        self.files.data.map.u64_at(data_off::LAST_READ_TIME).fetch_max(tai, Relaxed);
    }
}

impl Drop for DiscreteWriter {
    fn drop(&mut self) {
        release(&self.files);
    }
}

/// libmxl's release: if no other writer holds the flow, remove its folder.
/// Readers then see [`FlowStatus::Removed`].
pub(crate) fn release(files: &FlowFiles) {
    // Upgrading our shared lock succeeds only if no other writer holds one.
    if files.data.file.try_lock().is_ok() {
        let _ = std::fs::remove_dir_all(&files.dir);
    }
    waiting::wake_all(files);
}

/// A granted grain slot, filled in place and then committed.
///
/// Dropping it without committing cancels the grant, as libmxl's
/// `CancelGrain` does: the slot keeps the new index with no valid slices.
pub struct GrainMut<'w> {
    writer: &'w mut DiscreteWriter,
    index: u64,
    slot: usize,
    len: Option<u32>,
    timestamp: Option<u64>,
}

impl GrainMut<'_> {
    /// The grain's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    fn grain(&self) -> &MappedFile {
        &parts(&self.writer.files).1[self.slot]
    }

    /// The whole payload area of the slot, to fill in place.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let size = self.writer.shape.grain_size as usize;
        self.grain().map.bytes_mut(GRAIN_HEADER_BYTES, size)
    }

    /// Variable-size flows: how many payload bytes this grain uses.
    pub fn set_len(&mut self, len: usize) -> Result<(), FlowError> {
        if !self.writer.shape.variable {
            return Err(FlowError::InvalidArgument("set_len on a fixed-size flow".into()));
        }
        if len > self.writer.shape.grain_size as usize {
            return Err(FlowError::InvalidArgument(format!(
                "grain of {len} B does not fit capacity {}",
                self.writer.shape.grain_size
            )));
        }
        self.len = Some(len as u32);
        Ok(())
    }

    /// Variable-size flows: the grain's own origin time (for example from a
    /// PTS), in TAI ns. Without it the index's time is used.
    pub fn set_timestamp(&mut self, tai_ns: u64) {
        self.timestamp = Some(tai_ns);
    }

    /// Publishes the first `valid` slices (lines) of the grain. May be called
    /// again with more slices as they are filled.
    pub fn commit_slices(&mut self, valid: u16) -> Result<(), FlowError> {
        let total = self.writer.shape.total_slices;
        if valid > total {
            return Err(FlowError::InvalidArgument(format!("{valid} slices of a {total}-slice grain")));
        }
        self.publish(valid, 0);
        Ok(())
    }

    /// Publishes the whole grain.
    pub fn commit(mut self) -> Result<(), FlowError> {
        let total = self.writer.shape.total_slices;
        self.publish(total, 0);
        Ok(())
    }

    /// Publishes the grain marked invalid (for example a frame lost upstream):
    /// readers get it at once with [`GrainView::is_invalid`] set.
    pub fn commit_invalid(mut self) {
        self.publish(0, GRAIN_FLAG_INVALID);
    }

    /// Gives the slot back without publishing anything.
    pub fn cancel(self) {}

    fn publish(&mut self, valid: u16, flags: u32) {
        let shape = self.writer.shape;
        let files = &self.writer.files;
        let grain = &parts(files).1[self.slot];
        if shape.variable {
            let len = self.len.unwrap_or(shape.grain_size);
            let ts = self.timestamp.unwrap_or_else(|| index_to_timestamp(self.index, files.descriptor.grain_rate()));
            grain.map.u32_at(grain_off::EXT_PAYLOAD_LEN).store(len, Relaxed);
            grain.map.u64_at(grain_off::EXT_TIMESTAMP).store(ts, Relaxed);
        }
        protocol::commit(&ring(files), &slot(grain), self.index, valid, flags);
        files.data.map.u64_at(data_off::LAST_WRITE_TIME).store(now_tai_ns(), Relaxed);
        waiting::wake_all(files);
        self.writer.refresh_last_read_time();
    }
}

/// A reader of a discrete flow. Readers take no locks and never slow the
/// writer. One reader serves one thread (it is `Send`, not `Sync`).
pub struct DiscreteReader {
    files: FlowFiles,
    shape: DiscreteShape,
    toucher: AccessToucher,
}

impl DiscreteReader {
    pub(crate) fn new(files: FlowFiles) -> Self {
        let (shape, _) = parts(&files);
        let toucher = AccessToucher::new(&files);
        DiscreteReader { files, shape, toucher }
    }

    /// The flow's descriptor.
    pub fn descriptor(&self) -> &FlowDescriptor {
        &self.files.descriptor
    }

    /// Grains the ring holds.
    pub fn grain_count(&self) -> u64 {
        self.shape.grain_count
    }

    /// The last committed index.
    pub fn head_index(&self) -> u64 {
        ring(&self.files).head_index.load(Acquire)
    }

    /// Whether the flow's writer is alive. Costs a few system calls.
    pub fn status(&self) -> FlowStatus {
        FlowStatus::of(&self.files)
    }

    /// Borrows complete grain `index` without copying.
    pub fn get(&self, index: u64) -> Result<GrainView<'_>, ReadError> {
        self.get_slices(index, u16::MAX)
    }

    /// Borrows grain `index` once at least `min_slices` slices are committed.
    pub fn get_slices(&self, index: u64, min_slices: u16) -> Result<GrainView<'_>, ReadError> {
        let ring = ring(&self.files);
        let grain = &parts(&self.files).1[(index % self.shape.grain_count) as usize];
        let slot = slot(grain);
        match protocol::check_grain(&ring, &slot, index, self.shape.grain_count, min_slices) {
            Ok(valid) => {
                self.toucher.touch();
                Ok(self.view(grain, index, valid))
            }
            Err(miss) => {
                let head = ring.head_index.load(Relaxed);
                Err(match miss {
                    Miss::TooEarly => ReadError::TooEarly { index, head },
                    Miss::TooLate => ReadError::TooLate { index, head },
                })
            }
        }
    }

    /// Borrows the most recently committed grain.
    pub fn latest(&self) -> Result<GrainView<'_>, ReadError> {
        self.get(self.head_index())
    }

    /// Waits up to `timeout` for grain `index` to be complete, sleeping on
    /// the flow's futex. Fails early with `WriterGone` if the writer dies.
    pub fn wait(&self, index: u64, timeout: Duration) -> Result<GrainView<'_>, ReadError> {
        waiting::wait_for(&self.files, timeout, || self.get(index))
    }

    fn view<'r>(&'r self, grain: &'r MappedFile, index: u64, valid: u16) -> GrainView<'r> {
        let m = &grain.map;
        let capacity = self.shape.grain_size as usize;
        let (len, timestamp) = if self.shape.variable {
            // Input from another process: clamp, never trust.
            let len = (m.u32_at(grain_off::EXT_PAYLOAD_LEN).load(Relaxed) as usize).min(capacity);
            (len, m.u64_at(grain_off::EXT_TIMESTAMP).load(Relaxed))
        } else {
            (capacity, index_to_timestamp(index, self.files.descriptor.grain_rate()))
        };
        GrainView {
            head: ring(&self.files).head_index,
            grain,
            index,
            valid_slices: valid,
            total_slices: self.shape.total_slices,
            invalid: m.u32_at(grain_off::FLAGS).load(Relaxed) & GRAIN_FLAG_INVALID != 0,
            timestamp,
            payload: m.bytes(GRAIN_HEADER_BYTES, len),
        }
    }
}

/// A borrowed, zero-copy view of one grain in shared memory.
///
/// The writer never waits for readers, so the slot can be reused for a newer
/// grain while the view is held. Call [`GrainView::check`] after using the
/// payload: if it succeeds, every byte read belonged to this grain.
pub struct GrainView<'r> {
    head: &'r crate::sync::atomic::AtomicU64,
    grain: &'r MappedFile,
    index: u64,
    valid_slices: u16,
    total_slices: u16,
    invalid: bool,
    timestamp: u64,
    payload: &'r [u8],
}

impl GrainView<'_> {
    /// The grain's index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The payload: the whole grain for fixed-size flows, the used bytes for
    /// variable-size ones.
    pub fn payload(&self) -> &[u8] {
        self.payload
    }

    /// Committed slices (lines) when the view was taken.
    pub fn valid_slices(&self) -> u16 {
        self.valid_slices
    }

    /// Slices in a complete grain.
    pub fn total_slices(&self) -> u16 {
        self.total_slices
    }

    /// Whether every slice was committed.
    pub fn is_complete(&self) -> bool {
        self.valid_slices >= self.total_slices
    }

    /// Whether the writer marked the grain invalid.
    pub fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// The grain's origin time in TAI ns.
    pub fn timestamp_tai_ns(&self) -> u64 {
        self.timestamp
    }

    /// Succeeds if the slot still holds this grain, so that everything read
    /// from [`GrainView::payload`] so far is this grain's and not torn.
    pub fn check(&self) -> Result<(), ReadError> {
        if protocol::recheck_grain(&slot(self.grain), self.index) {
            Ok(())
        } else {
            Err(ReadError::TooLate { index: self.index, head: self.head.load(Relaxed) })
        }
    }

    /// Copies the payload into `out` and checks that the copy is not torn.
    pub fn copy_into(&self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        out.clear();
        out.extend_from_slice(self.payload);
        self.check()
    }
}
