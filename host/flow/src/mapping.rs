//! Mapped files and typed access into them. The only `unsafe` in host/flow.
//!
//! A [`Mapping`] is a `MAP_SHARED` mapping of a whole file, read-write for
//! writers and read-only for readers. Every accessor checks its range against
//! the mapping's length, so a truncated or hostile file can at worst make a
//! call fail its bounds check: it can never make us read outside the map.
//!
//! Other processes write these bytes while we look at them. Header words are
//! therefore only touched through atomics; payload bytes are handed out as
//! slices and validated afterwards with the generation check in `protocol`.

use crate::error::FlowError;
use crate::sync::atomic::{AtomicU16, AtomicU32, AtomicU64};
use memmap2::{MmapOptions, MmapRaw};
use std::fs::File;
use std::path::{Path, PathBuf};

/// One mapped file.
pub(crate) struct Mapping {
    map: MmapRaw,
    path: PathBuf,
}

impl Mapping {
    /// Maps `file` read-write.
    pub(crate) fn read_write(file: &File, path: &Path) -> Result<Self, FlowError> {
        let map = MmapOptions::new().map_raw(file).map_err(FlowError::io(path))?;
        Ok(Mapping { map, path: path.to_owned() })
    }

    /// Maps `file` read-only.
    pub(crate) fn read_only(file: &File, path: &Path) -> Result<Self, FlowError> {
        let map = MmapOptions::new().map_raw_read_only(file).map_err(FlowError::io(path))?;
        Ok(Mapping { map, path: path.to_owned() })
    }

    fn check(&self, offset: usize, len: usize, align: usize) {
        let end = offset.checked_add(len);
        assert!(
            end.is_some_and(|end| end <= self.map.len()) && offset.is_multiple_of(align),
            "access {offset}+{len} outside {} byte mapping of {}",
            self.map.len(),
            self.path.display()
        );
    }

    /// The `u64` word at `offset`, as an atomic.
    pub(crate) fn u64_at(&self, offset: usize) -> &AtomicU64 {
        self.check(offset, 8, 8);
        // SAFETY: the range is inside the mapping and 8-byte aligned (mmap is
        // page-aligned, offset checked above). The mapping lives as long as
        // `self`, and the word is only ever accessed atomically by Stagebox
        // (libmxl's plain stores of aligned words are single instructions on
        // the platforms it supports). Atomic loads from read-only mappings are
        // allowed for sizes up to 8 bytes.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(offset).cast()) }
    }

    /// The `u32` word at `offset`, as an atomic.
    pub(crate) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        self.check(offset, 4, 4);
        // SAFETY: as for `u64_at`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(offset).cast()) }
    }

    /// The `u16` word at `offset`, as an atomic.
    pub(crate) fn u16_at(&self, offset: usize) -> &AtomicU16 {
        self.check(offset, 2, 2);
        // SAFETY: as for `u64_at`, with 2-byte alignment.
        unsafe { AtomicU16::from_ptr(self.map.as_mut_ptr().add(offset).cast()) }
    }

    /// `len` bytes at `offset`, to read. The caller validates what it read
    /// with the ring's generation check: another process may change them.
    pub(crate) fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        self.check(offset, len, 1);
        // SAFETY: the range is inside the mapping, which lives as long as the
        // returned borrow. The bytes may be changed by a writer in another
        // process; they are plain bytes (every bit pattern is valid) and the
        // reader detects such a change with `protocol::recheck_*`.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(offset), len) }
    }

    /// `len` bytes at `offset`, to write. Only the flow's single writer calls
    /// this, on a read-write mapping, for the slot it has granted.
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn bytes_mut(&self, offset: usize, len: usize) -> &mut [u8] {
        self.check(offset, len, 1);
        // SAFETY: the range is inside a read-write mapping that outlives the
        // borrow. The flow has one writer (creation and takeover refuse a
        // second one), and the writer hands out at most one mutable view of a
        // granted slot at a time (`GrainMut`/`SamplesMut` borrow the writer
        // mutably), so within this process nothing else aliases these bytes.
        // Readers in other processes may read them concurrently and validate
        // with the generation check.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(offset), len) }
    }
}
