//! A flow's folder on disk: creating it the way libmxl does, and opening and
//! validating an existing one (MXL-LAYOUT.md §2, §6).

use crate::descriptor::{FlowDescriptor, Geometry};
use crate::error::FlowError;
use crate::layout::{self, DATA_FILE_BYTES, GRAIN_HEADER_BYTES, LAYOUT_VERSION, data_off, format_code, grain_off};
use crate::mapping::Mapping;
use crate::sync::atomic::Ordering::Relaxed;
use crate::time::now_tai_ns;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Suffix of a published flow folder.
pub(crate) const FLOW_DIR_SUFFIX: &str = ".mxl-flow";
/// Prefix of a flow folder being built.
pub(crate) const STAGING_PREFIX: &str = ".mxl-tmp-";
/// The largest grain count a file may claim before we call it corrupt.
const MAX_GRAIN_COUNT: u32 = 1 << 16;
/// The largest continuous ring a file may claim (samples per channel).
const MAX_BUFFER_LENGTH: u32 = 1 << 26;
/// The smallest grain count Stagebox creates. libmxl lets short histories
/// round down to 0 grains, which cannot work; readers take any count.
const MIN_GRAIN_COUNT: u64 = 2;

/// Whether files are opened to write (and locked shared) or only to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// The ring shape of a discrete flow, as read from (or written to) `data`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DiscreteShape {
    pub(crate) grain_count: u64,
    pub(crate) grain_size: u32,
    pub(crate) total_slices: u16,
    pub(crate) variable: bool,
}

/// The ring shape of a continuous flow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContinuousShape {
    pub(crate) channels: u32,
    pub(crate) buffer_length: u64,
    pub(crate) word_size: u32,
    pub(crate) commit_hint: u32,
    pub(crate) sync_hint: u32,
}

/// An open file and its mapping. The file stays open because a writer's
/// `LOCK_SH` lives on it.
pub(crate) struct MappedFile {
    pub(crate) map: Mapping,
    pub(crate) file: File,
}

/// The ring part of a flow.
pub(crate) enum Body {
    Discrete { shape: DiscreteShape, grains: Vec<MappedFile> },
    Continuous { shape: ContinuousShape, channels: MappedFile },
}

/// Everything of one open flow.
pub(crate) struct FlowFiles {
    pub(crate) dir: PathBuf,
    pub(crate) descriptor: FlowDescriptor,
    pub(crate) data: MappedFile,
    pub(crate) body: Body,
    /// `FlowState.inode`: the `data` file's inode at creation.
    pub(crate) inode: u64,
}

/// Ring sizing from the domain's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizing {
    pub(crate) history_ns: u64,
}

impl Sizing {
    /// libmxl's `grainCount = H·num / (1e9·den)`, at least [`MIN_GRAIN_COUNT`].
    pub(crate) fn grain_count(self, rate: crate::Rational) -> u64 {
        let n = u128::from(self.history_ns) * u128::from(rate.numerator())
            / (1_000_000_000 * u128::from(rate.denominator()));
        u64::try_from(n).unwrap_or(u64::MAX).clamp(MIN_GRAIN_COUNT, u64::from(MAX_GRAIN_COUNT))
    }

    /// libmxl's `bufferLength = ceil_to(H·num / (5e8·den), 4096 / wordSize)`.
    pub(crate) fn buffer_length(self, rate: crate::Rational, word_size: u32) -> u64 {
        let n =
            u128::from(self.history_ns) * u128::from(rate.numerator()) / (500_000_000 * u128::from(rate.denominator()));
        let step = u128::from(4096 / word_size.max(1));
        let n = n.div_ceil(step).max(1) * step;
        u64::try_from(n).unwrap_or(u64::MAX).min(u64::from(MAX_BUFFER_LENGTH))
    }

    /// Bytes a new flow with `descriptor` will occupy.
    pub(crate) fn flow_bytes(self, descriptor: &FlowDescriptor) -> u64 {
        let body = match descriptor.geometry() {
            Geometry::Discrete { rate, grain_size, .. } => {
                self.grain_count(rate) * (GRAIN_HEADER_BYTES as u64 + u64::from(grain_size))
            }
            Geometry::Continuous { rate, channels, word_size } => {
                self.buffer_length(rate, word_size) * u64::from(channels) * u64::from(word_size)
            }
        };
        body + DATA_FILE_BYTES as u64 + descriptor.to_json().len() as u64
    }
}

pub(crate) fn flow_dir(root: &Path, id: Uuid) -> PathBuf {
    root.join(format!("{}{FLOW_DIR_SUFFIX}", id.hyphenated()))
}

fn grain_path(dir: &Path, n: u64) -> PathBuf {
    dir.join("grains").join(format!("data.{n}"))
}

/// Creates a file the way libmxl does: `O_CREAT|O_EXCL`, mode 0664, space
/// reserved up front so a full tmpfs fails here and not later as SIGBUS.
fn create_file(path: &Path, len: u64) -> Result<File, FlowError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o664)
        .open(path)
        .map_err(FlowError::io(path))?;
    if len > 0 {
        match rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, len) {
            Ok(()) => {}
            Err(rustix::io::Errno::OPNOTSUPP) => file.set_len(len).map_err(FlowError::io(path))?,
            Err(e) => return Err(FlowError::Io { path: path.to_owned(), source: e.into() }),
        }
    }
    Ok(file)
}

fn lock_shared(file: &File, path: &Path) -> Result<(), FlowError> {
    file.try_lock_shared().map_err(|e| FlowError::Io { path: path.to_owned(), source: e.into() })
}

fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}
fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}
fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// The bytes of a new `data` file (without the inode, set after creation).
fn data_header(descriptor: &FlowDescriptor, sizing: Sizing) -> Vec<u8> {
    let mut b = vec![0u8; DATA_FILE_BYTES];
    put_u32(&mut b, data_off::VERSION, LAYOUT_VERSION);
    put_u32(&mut b, data_off::SIZE, layout::FLOW_INFO_SIZE);
    b[data_off::ID..data_off::ID + 16].copy_from_slice(descriptor.id().as_bytes());
    let rate = descriptor.grain_rate();
    put_u64(&mut b, data_off::RATE_NUM, rate.numerator());
    put_u64(&mut b, data_off::RATE_DEN, rate.denominator());
    put_u32(&mut b, data_off::PAYLOAD_LOCATION, 0);
    b[data_off::DEVICE_INDEX..data_off::DEVICE_INDEX + 4].copy_from_slice(&(-1i32).to_ne_bytes());
    let now = now_tai_ns();
    put_u64(&mut b, data_off::LAST_WRITE_TIME, now);
    put_u64(&mut b, data_off::LAST_READ_TIME, now);
    match descriptor.geometry() {
        Geometry::Discrete { format_code, slice_sizes, total_slices, .. } => {
            put_u32(&mut b, data_off::FORMAT, format_code);
            put_u32(&mut b, data_off::COMMIT_HINT, u32::from(total_slices));
            put_u32(&mut b, data_off::SYNC_HINT, u32::from(total_slices));
            for (i, s) in slice_sizes.iter().enumerate() {
                put_u32(&mut b, data_off::SLICE_SIZES + 4 * i, *s);
            }
            // grain_count fits: clamped to MAX_GRAIN_COUNT.
            put_u32(&mut b, data_off::GRAIN_COUNT, sizing.grain_count(rate) as u32);
        }
        Geometry::Continuous { channels, word_size, .. } => {
            let batch = u32::try_from(rate.numerator() / rate.denominator() / 100).unwrap_or(1).max(1);
            put_u32(&mut b, data_off::FORMAT, format_code::AUDIO);
            put_u32(&mut b, data_off::COMMIT_HINT, batch);
            put_u32(&mut b, data_off::SYNC_HINT, batch);
            put_u32(&mut b, data_off::CHANNEL_COUNT, channels);
            put_u32(&mut b, data_off::BUFFER_LENGTH, sizing.buffer_length(rate, word_size) as u32);
        }
    }
    b
}

fn grain_header(grain_size: u32, total_slices: u16) -> [u8; 32] {
    let mut b = [0u8; 32];
    put_u32(&mut b, grain_off::VERSION, LAYOUT_VERSION);
    put_u32(&mut b, grain_off::SIZE, layout::GRAIN_INFO_SIZE);
    put_u32(&mut b, grain_off::GRAIN_SIZE, grain_size);
    put_u16(&mut b, grain_off::TOTAL_SLICES, total_slices);
    b
}

fn write_at_start(file: &mut File, path: &Path, bytes: &[u8]) -> Result<(), FlowError> {
    file.write_all(bytes).map_err(FlowError::io(path))
}

/// Builds a new flow in a staging folder and publishes it atomically.
/// Returns `None` when a flow with that id already exists.
pub(crate) fn create(root: &Path, descriptor: &FlowDescriptor, sizing: Sizing) -> Result<Option<FlowFiles>, FlowError> {
    let target = flow_dir(root, descriptor.id());
    let staging = root.join(format!("{STAGING_PREFIX}{}", &Uuid::new_v4().simple().to_string()[..16]));
    fs::create_dir(&staging).map_err(FlowError::io(&staging))?;
    // `build` hands back the `data` file, still locked shared, so that no
    // other process sees the new flow without a writer until `open` below
    // has taken its own locks.
    let built = build(&staging, descriptor, sizing);
    let published = built.and_then(|hold| {
        fs::set_permissions(&staging, fs::Permissions::from_mode(0o755)).map_err(FlowError::io(&staging))?;
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            &staging,
            rustix::fs::CWD,
            &target,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(Some(hold)),
            Err(rustix::io::Errno::EXIST | rustix::io::Errno::NOTEMPTY) => Ok(None),
            Err(e) => Err(FlowError::Io { path: target.clone(), source: e.into() }),
        }
    });
    match published {
        Ok(Some(_hold)) => FlowFiles::open(&target, Access::Write).map(Some),
        Ok(None) => {
            let _ = fs::remove_dir_all(&staging);
            Ok(None)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Fills a staging folder. Files are locked shared as they are made, so
/// garbage collection never takes a folder that is being built.
fn build(staging: &Path, descriptor: &FlowDescriptor, sizing: Sizing) -> Result<File, FlowError> {
    let def_path = staging.join("flow_def.json");
    fs::write(&def_path, descriptor.to_json()).map_err(FlowError::io(&def_path))?;
    let data_path = staging.join("data");
    let mut data = create_file(&data_path, DATA_FILE_BYTES as u64)?;
    lock_shared(&data, &data_path)?;
    let mut header = data_header(descriptor, sizing);
    let inode = data.metadata().map_err(FlowError::io(&data_path))?.ino();
    put_u64(&mut header, data_off::INODE, inode);
    write_at_start(&mut data, &data_path, &header)?;
    match descriptor.geometry() {
        Geometry::Discrete { rate, grain_size, total_slices, .. } => {
            let access = staging.join("access");
            create_file(&access, 0)?;
            let grains = staging.join("grains");
            fs::create_dir(&grains).map_err(FlowError::io(&grains))?;
            let header = grain_header(grain_size, total_slices);
            for n in 0..sizing.grain_count(rate) {
                let path = grain_path(staging, n);
                let mut file = create_file(&path, GRAIN_HEADER_BYTES as u64 + u64::from(grain_size))?;
                lock_shared(&file, &path)?;
                write_at_start(&mut file, &path, &header)?;
            }
        }
        Geometry::Continuous { rate, channels, word_size } => {
            let path = staging.join("channels");
            let len = sizing.buffer_length(rate, word_size) * u64::from(channels) * u64::from(word_size);
            let file = create_file(&path, len)?;
            lock_shared(&file, &path)?;
        }
    }
    Ok(data)
}

fn open_mapped(path: &Path, access: Access, min_len: u64) -> Result<MappedFile, FlowError> {
    let file = match access {
        Access::Read => File::open(path),
        Access::Write => OpenOptions::new().read(true).write(true).open(path),
    }
    .map_err(FlowError::io(path))?;
    let len = file.metadata().map_err(FlowError::io(path))?.len();
    if len < min_len {
        return Err(FlowError::Truncated { path: path.to_owned(), expected: min_len, found: len });
    }
    if access == Access::Write {
        lock_shared(&file, path)?;
    }
    let map = match access {
        Access::Read => Mapping::read_only(&file, path)?,
        Access::Write => Mapping::read_write(&file, path)?,
    };
    Ok(MappedFile { map, file })
}

fn corrupt(path: &Path, detail: String) -> FlowError {
    FlowError::Corrupt { path: path.to_owned(), detail }
}

impl FlowFiles {
    /// Opens and validates an existing flow folder. Every field that sizes a
    /// mapping or an index is checked before it is used.
    pub(crate) fn open(dir: &Path, access: Access) -> Result<FlowFiles, FlowError> {
        let def_path = dir.join("flow_def.json");
        let def_text = fs::read_to_string(&def_path).map_err(FlowError::io(&def_path))?;
        let descriptor = FlowDescriptor::from_json(&def_text)
            .map_err(|source| FlowError::Definition { path: def_path.clone(), source })?;
        if dir.file_name() != flow_dir(Path::new(""), descriptor.id()).file_name() {
            return Err(corrupt(&def_path, format!("id {} does not match the folder name", descriptor.id())));
        }
        let data_path = dir.join("data");
        let data = open_mapped(&data_path, access, DATA_FILE_BYTES as u64)?;
        let m = &data.map;
        let version = m.u32_at(data_off::VERSION).load(Relaxed);
        if version != LAYOUT_VERSION {
            return Err(FlowError::Version { path: data_path, found: version });
        }
        let format = m.u32_at(data_off::FORMAT).load(Relaxed);
        if !matches!(format, format_code::VIDEO | format_code::AUDIO | format_code::DATA | format_code::STAGEBOX_EXT) {
            return Err(FlowError::Format { path: data_path, found: format });
        }
        let id = m.bytes(data_off::ID, 16);
        if id != descriptor.id().as_bytes() {
            return Err(corrupt(&data_path, format!("flow id does not match flow_def.json id {}", descriptor.id())));
        }
        let rate = (m.u64_at(data_off::RATE_NUM).load(Relaxed), m.u64_at(data_off::RATE_DEN).load(Relaxed));
        let inode = m.u64_at(data_off::INODE).load(Relaxed);
        let body = match descriptor.geometry() {
            Geometry::Discrete { format_code, rate: want_rate, slice_sizes, total_slices, grain_size, variable } => {
                if format != format_code {
                    return Err(corrupt(
                        &data_path,
                        format!("format code {format:#x}, flow_def.json says {format_code:#x}"),
                    ));
                }
                if rate != (want_rate.numerator(), want_rate.denominator()) {
                    return Err(corrupt(
                        &data_path,
                        format!("grain rate {}/{}, flow_def.json says {want_rate}", rate.0, rate.1),
                    ));
                }
                let found: Vec<u32> = (0..4).map(|i| m.u32_at(data_off::SLICE_SIZES + 4 * i).load(Relaxed)).collect();
                if found != slice_sizes {
                    return Err(corrupt(
                        &data_path,
                        format!("slice sizes {found:?} do not fit the geometry {slice_sizes:?}"),
                    ));
                }
                let grain_count = m.u32_at(data_off::GRAIN_COUNT).load(Relaxed);
                if grain_count == 0 || grain_count > MAX_GRAIN_COUNT {
                    return Err(corrupt(
                        &data_path,
                        format!("grain count {grain_count} is not in 1..={MAX_GRAIN_COUNT}"),
                    ));
                }
                let shape = DiscreteShape { grain_count: u64::from(grain_count), grain_size, total_slices, variable };
                let grains = (0..shape.grain_count)
                    .map(|n| open_grain(&grain_path(dir, n), access, shape))
                    .collect::<Result<Vec<_>, _>>()?;
                Body::Discrete { shape, grains }
            }
            Geometry::Continuous { rate: want_rate, channels, word_size } => {
                if format != format_code::AUDIO {
                    return Err(corrupt(&data_path, format!("format code {format:#x} is not audio")));
                }
                if rate != (want_rate.numerator(), want_rate.denominator()) {
                    return Err(corrupt(
                        &data_path,
                        format!("sample rate {}/{}, flow_def.json says {want_rate}", rate.0, rate.1),
                    ));
                }
                let found_channels = m.u32_at(data_off::CHANNEL_COUNT).load(Relaxed);
                if found_channels != channels {
                    return Err(corrupt(
                        &data_path,
                        format!("{found_channels} channels, flow_def.json says {channels}"),
                    ));
                }
                let buffer_length = m.u32_at(data_off::BUFFER_LENGTH).load(Relaxed);
                if !(2..=MAX_BUFFER_LENGTH).contains(&buffer_length) {
                    return Err(corrupt(
                        &data_path,
                        format!("buffer length {buffer_length} is not in 2..={MAX_BUFFER_LENGTH}"),
                    ));
                }
                let path = dir.join("channels");
                let len = u64::from(channels) * u64::from(buffer_length) * u64::from(word_size);
                let channels_file = open_mapped(&path, access, len)?;
                let shape = ContinuousShape {
                    channels,
                    buffer_length: u64::from(buffer_length),
                    word_size,
                    commit_hint: m.u32_at(data_off::COMMIT_HINT).load(Relaxed),
                    sync_hint: m.u32_at(data_off::SYNC_HINT).load(Relaxed),
                };
                Body::Continuous { shape, channels: channels_file }
            }
        };
        Ok(FlowFiles { dir: dir.to_owned(), descriptor, data, body, inode })
    }
}

fn open_grain(path: &Path, access: Access, shape: DiscreteShape) -> Result<MappedFile, FlowError> {
    let grain = open_mapped(path, access, GRAIN_HEADER_BYTES as u64 + u64::from(shape.grain_size))?;
    let m = &grain.map;
    let version = m.u32_at(grain_off::VERSION).load(Relaxed);
    if version != LAYOUT_VERSION {
        return Err(FlowError::Version { path: path.to_owned(), found: version });
    }
    let size = m.u32_at(grain_off::GRAIN_SIZE).load(Relaxed);
    let total = m.u16_at(grain_off::TOTAL_SLICES).load(Relaxed);
    if size != shape.grain_size || total != shape.total_slices {
        return Err(corrupt(
            path,
            format!(
                "grain holds {size} B in {total} slices, the flow needs {} B in {}",
                shape.grain_size, shape.total_slices
            ),
        ));
    }
    Ok(grain)
}

/// Whether a live writer holds the flow: `LOCK_EX|LOCK_NB` on a fresh
/// read-only descriptor of `data` fails (libmxl's `mxlIsFlowActive`).
pub(crate) fn writer_active(data_path: &Path) -> Result<bool, FlowError> {
    let file = File::open(data_path).map_err(FlowError::io(data_path))?;
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(FlowError::Io { path: data_path.to_owned(), source: e }),
    }
}

/// Whether the folder at `dir` still holds the flow whose `data` had `inode`.
pub(crate) fn same_flow(dir: &Path, inode: u64) -> bool {
    fs::metadata(dir.join("data")).is_ok_and(|m| m.ino() == inode)
}
