//! The MXL v1 shared-memory structures, byte for byte.
//!
//! These `#[repr(C)]` structs are the single source of truth for every offset
//! the ring code uses (through [`core::mem::offset_of!`]). A unit test checks
//! each offset and size against the table in MXL-LAYOUT.md, so a change here
//! that would break compatibility with libmxl fails the build's tests.

/// `mxlFlowInfo.version` and `mxlGrainInfo.version`: the only accepted value.
pub(crate) const LAYOUT_VERSION: u32 = 1;
/// `mxlFlowInfo.size` as written by libmxl.
pub(crate) const FLOW_INFO_SIZE: u32 = 2048;
/// `mxlGrainInfo.size` as written by libmxl.
pub(crate) const GRAIN_INFO_SIZE: u32 = 4096;
/// Bytes before the payload in every grain file (header plus padding).
pub(crate) const GRAIN_HEADER_BYTES: usize = 8192;
/// Size of the `data` file: `mxlFlowInfo` plus the internal `FlowState`.
pub(crate) const DATA_FILE_BYTES: usize = core::mem::size_of::<DataFile>();

/// `mxlGrainInfo.flags` bit 0: the grain is marked invalid by its writer.
pub(crate) const GRAIN_FLAG_INVALID: u32 = 1;

/// `mxlCommonFlowConfigInfo.format` values understood by stock libmxl.
pub(crate) mod format_code {
    /// Discrete video (v210, v210a).
    pub(crate) const VIDEO: u32 = 1;
    /// Continuous audio.
    pub(crate) const AUDIO: u32 = 2;
    /// Discrete data (SMPTE 291 ancillary data).
    pub(crate) const DATA: u32 = 3;
    /// Stagebox extension flows ("SBX" + 1). Stock libmxl refuses any format
    /// outside 1..=3 when it opens a flow, so extension flows are refused
    /// cleanly instead of being misread.
    pub(crate) const STAGEBOX_EXT: u32 = 0x5342_5801;
}

/// `mxlCommonFlowConfigInfo`: 128 bytes at offset 8 of `data`.
#[repr(C)]
pub(crate) struct CommonFlowConfig {
    pub(crate) id: [u8; 16],
    pub(crate) format: u32,
    pub(crate) flags: u32,
    pub(crate) grain_rate_numerator: i64,
    pub(crate) grain_rate_denominator: i64,
    pub(crate) max_commit_batch_size_hint: u32,
    pub(crate) max_sync_batch_size_hint: u32,
    pub(crate) payload_location: u32,
    pub(crate) device_index: i32,
    pub(crate) reserved: [u8; 72],
}

/// `mxlDiscreteFlowConfigInfo`: 64 bytes at offset 136 (discrete flows).
#[repr(C)]
pub(crate) struct DiscreteFlowConfig {
    pub(crate) slice_sizes: [u32; 4],
    pub(crate) grain_count: u32,
    pub(crate) reserved: [u8; 44],
}

/// `mxlContinuousFlowConfigInfo`: 64 bytes at offset 136 (continuous flows).
#[repr(C)]
pub(crate) struct ContinuousFlowConfig {
    pub(crate) channel_count: u32,
    pub(crate) buffer_length: u32,
    pub(crate) reserved: [u8; 56],
}

/// The union of the two format-specific configs.
#[repr(C)]
pub(crate) union FormatConfig {
    pub(crate) discrete: core::mem::ManuallyDrop<DiscreteFlowConfig>,
    pub(crate) continuous: core::mem::ManuallyDrop<ContinuousFlowConfig>,
}

/// `mxlFlowRuntimeInfo`: 64 bytes at offset 200.
#[repr(C)]
pub(crate) struct FlowRuntimeInfo {
    pub(crate) head_index: u64,
    pub(crate) last_write_time: u64,
    pub(crate) last_read_time: u64,
    pub(crate) reserved: [u8; 40],
}

/// `mxlFlowInfo`: the public 2048-byte head of the `data` file.
#[repr(C)]
pub(crate) struct FlowInfo {
    pub(crate) version: u32,
    pub(crate) size: u32,
    pub(crate) common: CommonFlowConfig,
    pub(crate) config: FormatConfig,
    pub(crate) runtime: FlowRuntimeInfo,
    pub(crate) reserved: [u8; 1784],
}

/// libmxl's internal `FlowState`, right after `mxlFlowInfo`.
#[repr(C)]
pub(crate) struct FlowState {
    pub(crate) inode: u64,
    pub(crate) sync_counter: u32,
    pub(crate) padding: u32,
}

/// The whole `data` file (2064 bytes).
#[repr(C)]
pub(crate) struct DataFile {
    pub(crate) info: FlowInfo,
    pub(crate) state: FlowState,
}

/// `mxlGrainInfo`: the 4096-byte header at the start of each grain file.
///
/// `ext_payload_len` and `ext_timestamp` live in bytes that libmxl reserves.
/// Stagebox uses them only in extension flows (format
/// [`format_code::STAGEBOX_EXT`]), which stock readers refuse to open; in
/// standard flows they stay zero.
#[repr(C)]
pub(crate) struct GrainInfo {
    pub(crate) version: u32,
    pub(crate) size: u32,
    pub(crate) index: u64,
    pub(crate) flags: u32,
    pub(crate) grain_size: u32,
    pub(crate) total_slices: u16,
    pub(crate) valid_slices: u16,
    /// Extension: bytes of payload actually used by a variable-size grain.
    pub(crate) ext_payload_len: u32,
    /// Extension: the grain's origin time, TAI nanoseconds.
    pub(crate) ext_timestamp: u64,
    pub(crate) reserved: [u8; 4056],
}

/// Byte offsets into the `data` file, derived from the structs above.
pub(crate) mod data_off {
    use super::{CommonFlowConfig, DataFile, FlowInfo, FlowRuntimeInfo, FlowState};
    use core::mem::offset_of;

    const COMMON: usize = offset_of!(FlowInfo, common);
    const CONFIG: usize = offset_of!(FlowInfo, config);
    const RUNTIME: usize = offset_of!(FlowInfo, runtime);
    const STATE: usize = offset_of!(DataFile, state);

    pub(crate) const VERSION: usize = offset_of!(FlowInfo, version);
    pub(crate) const SIZE: usize = offset_of!(FlowInfo, size);
    pub(crate) const ID: usize = COMMON + offset_of!(CommonFlowConfig, id);
    pub(crate) const FORMAT: usize = COMMON + offset_of!(CommonFlowConfig, format);
    pub(crate) const RATE_NUM: usize = COMMON + offset_of!(CommonFlowConfig, grain_rate_numerator);
    pub(crate) const RATE_DEN: usize = COMMON + offset_of!(CommonFlowConfig, grain_rate_denominator);
    pub(crate) const COMMIT_HINT: usize = COMMON + offset_of!(CommonFlowConfig, max_commit_batch_size_hint);
    pub(crate) const SYNC_HINT: usize = COMMON + offset_of!(CommonFlowConfig, max_sync_batch_size_hint);
    pub(crate) const PAYLOAD_LOCATION: usize = COMMON + offset_of!(CommonFlowConfig, payload_location);
    pub(crate) const DEVICE_INDEX: usize = COMMON + offset_of!(CommonFlowConfig, device_index);
    /// `sliceSizes[4]` (discrete) or `channelCount` (continuous) start here.
    pub(crate) const SLICE_SIZES: usize = CONFIG;
    pub(crate) const GRAIN_COUNT: usize = CONFIG + 16;
    pub(crate) const CHANNEL_COUNT: usize = CONFIG;
    pub(crate) const BUFFER_LENGTH: usize = CONFIG + 4;
    pub(crate) const HEAD_INDEX: usize = RUNTIME + offset_of!(FlowRuntimeInfo, head_index);
    pub(crate) const LAST_WRITE_TIME: usize = RUNTIME + offset_of!(FlowRuntimeInfo, last_write_time);
    pub(crate) const LAST_READ_TIME: usize = RUNTIME + offset_of!(FlowRuntimeInfo, last_read_time);
    pub(crate) const INODE: usize = STATE + offset_of!(FlowState, inode);
    pub(crate) const SYNC_COUNTER: usize = STATE + offset_of!(FlowState, sync_counter);
}

/// Byte offsets into a grain file, derived from [`GrainInfo`].
pub(crate) mod grain_off {
    use super::GrainInfo;
    use core::mem::offset_of;

    pub(crate) const VERSION: usize = offset_of!(GrainInfo, version);
    pub(crate) const SIZE: usize = offset_of!(GrainInfo, size);
    pub(crate) const INDEX: usize = offset_of!(GrainInfo, index);
    pub(crate) const FLAGS: usize = offset_of!(GrainInfo, flags);
    pub(crate) const GRAIN_SIZE: usize = offset_of!(GrainInfo, grain_size);
    pub(crate) const TOTAL_SLICES: usize = offset_of!(GrainInfo, total_slices);
    pub(crate) const VALID_SLICES: usize = offset_of!(GrainInfo, valid_slices);
    pub(crate) const EXT_PAYLOAD_LEN: usize = offset_of!(GrainInfo, ext_payload_len);
    pub(crate) const EXT_TIMESTAMP: usize = offset_of!(GrainInfo, ext_timestamp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    /// Every row of MXL-LAYOUT.md §3, §3a–3d and §4, checked against the
    /// structs the ring code reads and writes.
    #[test]
    fn offsets_match_mxl_layout_document() {
        // §3 data file
        assert_eq!(data_off::VERSION, 0);
        assert_eq!(data_off::SIZE, 4);
        assert_eq!(offset_of!(FlowInfo, common), 8);
        assert_eq!(size_of::<CommonFlowConfig>(), 128);
        assert_eq!(offset_of!(FlowInfo, config), 136);
        assert_eq!(size_of::<FormatConfig>(), 64);
        assert_eq!(offset_of!(FlowInfo, runtime), 200);
        assert_eq!(size_of::<FlowRuntimeInfo>(), 64);
        assert_eq!(offset_of!(FlowInfo, reserved), 264);
        assert_eq!(size_of::<FlowInfo>(), 2048);
        assert_eq!(size_of::<FlowInfo>(), FLOW_INFO_SIZE as usize);
        assert_eq!(data_off::INODE, 2048);
        assert_eq!(data_off::SYNC_COUNTER, 2056);
        assert_eq!(DATA_FILE_BYTES, 2064);
        // §3a common config
        assert_eq!(data_off::ID, 8);
        assert_eq!(data_off::FORMAT, 24);
        assert_eq!(offset_of!(FlowInfo, common) + offset_of!(CommonFlowConfig, flags), 28);
        assert_eq!(data_off::RATE_NUM, 32);
        assert_eq!(data_off::RATE_DEN, 40);
        assert_eq!(data_off::COMMIT_HINT, 48);
        assert_eq!(data_off::SYNC_HINT, 52);
        assert_eq!(data_off::PAYLOAD_LOCATION, 56);
        assert_eq!(data_off::DEVICE_INDEX, 60);
        assert_eq!(offset_of!(FlowInfo, common) + offset_of!(CommonFlowConfig, reserved), 64);
        // §3b discrete config
        assert_eq!(data_off::SLICE_SIZES, 136);
        assert_eq!(136 + offset_of!(DiscreteFlowConfig, grain_count), 152);
        assert_eq!(data_off::GRAIN_COUNT, 152);
        assert_eq!(136 + offset_of!(DiscreteFlowConfig, reserved), 156);
        assert_eq!(size_of::<DiscreteFlowConfig>(), 64);
        // §3c continuous config
        assert_eq!(data_off::CHANNEL_COUNT, 136);
        assert_eq!(136 + offset_of!(ContinuousFlowConfig, buffer_length), 140);
        assert_eq!(data_off::BUFFER_LENGTH, 140);
        assert_eq!(136 + offset_of!(ContinuousFlowConfig, reserved), 144);
        assert_eq!(size_of::<ContinuousFlowConfig>(), 64);
        // §3d runtime
        assert_eq!(data_off::HEAD_INDEX, 200);
        assert_eq!(data_off::LAST_WRITE_TIME, 208);
        assert_eq!(data_off::LAST_READ_TIME, 216);
        assert_eq!(200 + offset_of!(FlowRuntimeInfo, reserved), 224);
        // §4 grain header
        assert_eq!(grain_off::VERSION, 0);
        assert_eq!(grain_off::SIZE, 4);
        assert_eq!(grain_off::INDEX, 8);
        assert_eq!(grain_off::FLAGS, 16);
        assert_eq!(grain_off::GRAIN_SIZE, 20);
        assert_eq!(grain_off::TOTAL_SLICES, 24);
        assert_eq!(grain_off::VALID_SLICES, 26);
        assert_eq!(grain_off::EXT_PAYLOAD_LEN, 28);
        assert_eq!(grain_off::EXT_TIMESTAMP, 32);
        assert_eq!(size_of::<GrainInfo>(), 4096);
        assert_eq!(size_of::<GrainInfo>(), GRAIN_INFO_SIZE as usize);
        assert_eq!(GRAIN_HEADER_BYTES, 8192);
    }

    /// The atomics the ring protocol places on these fields need natural
    /// alignment; mmap returns page-aligned memory, so struct alignment is
    /// what matters.
    #[test]
    fn atomic_fields_are_naturally_aligned() {
        assert_eq!(align_of::<DataFile>(), 8);
        assert_eq!(align_of::<GrainInfo>(), 8);
        assert_eq!(data_off::HEAD_INDEX % 8, 0);
        assert_eq!(data_off::LAST_WRITE_TIME % 8, 0);
        assert_eq!(data_off::SYNC_COUNTER % 4, 0);
        assert_eq!(grain_off::INDEX % 8, 0);
        assert_eq!(grain_off::VALID_SLICES % 2, 0);
        assert_eq!(grain_off::EXT_TIMESTAMP % 8, 0);
    }
}
