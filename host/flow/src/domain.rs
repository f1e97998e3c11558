//! A domain: a folder (on tmpfs) of flows, with its options, its registry,
//! garbage collection and a size quota.

use crate::continuous::{ContinuousReader, ContinuousWriter};
use crate::descriptor::FlowDescriptor;
use crate::discrete::{DiscreteReader, DiscreteWriter};
use crate::error::FlowError;
use crate::files::{self, Access, Body, FLOW_DIR_SUFFIX, FlowFiles, STAGING_PREFIX, Sizing};
use crate::layout::data_off;
use crate::time::now_tai_ns;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use uuid::Uuid;

const HISTORY_KEY: &str = "urn:x-mxl:option:history_duration/v1.0";
const QUOTA_KEY: &str = "urn:x-stagebox:option:quota_bytes/v1.0";
const GRACE_KEY: &str = "urn:x-stagebox:option:stale_grace_ms/v1.0";
const LOCK_FILE: &str = ".stagebox.lock";

/// Settings of a domain, read from its `options.json` when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainOptions {
    /// How much media a ring holds (libmxl's `history_duration`, default 200 ms).
    pub history: Duration,
    /// The most bytes the domain's flows may occupy (`None`: no quota).
    pub quota_bytes: Option<u64>,
    /// How long a flow must have had no writer, or a staging folder must
    /// have been left alone, before garbage collection removes it.
    pub stale_grace: Duration,
}

impl Default for DomainOptions {
    fn default() -> Self {
        DomainOptions { history: Duration::from_millis(200), quota_bytes: None, stale_grace: Duration::from_secs(5) }
    }
}

/// A domain folder. Cheap to clone; holds no open files.
#[derive(Debug, Clone)]
pub struct Domain {
    root: PathBuf,
    options: DomainOptions,
}

/// One flow found in a domain.
#[derive(Debug, Clone)]
pub struct FlowEntry {
    /// The flow's folder.
    pub dir: PathBuf,
    /// Its validated descriptor, from `flow_def.json`.
    pub descriptor: FlowDescriptor,
    /// Whether a writer holds it now.
    pub writer_active: bool,
}

/// The flows of a domain, and the folders that could not be read as flows.
#[derive(Debug, Default)]
pub struct FlowList {
    /// Readable flows, sorted by label.
    pub flows: Vec<FlowEntry>,
    /// Flow folders that are broken, each with why.
    pub broken: Vec<FlowError>,
}

/// What one garbage collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Published flows with no writer for longer than the grace period.
    pub removed_flows: Vec<PathBuf>,
    /// Half-built staging folders and flow folders without a `data` file.
    pub removed_partial: Vec<PathBuf>,
    /// Bytes given back.
    pub bytes_freed: u64,
}

/// Holds the domain's creation lock: Stagebox processes create or take over
/// flows one at a time, so two can never both take over one stale flow.
struct CreationLock(#[allow(dead_code)] File);

impl Domain {
    /// Opens (creating if needed) the domain folder at `root` and reads its
    /// `options.json`.
    pub fn open(root: impl AsRef<Path>) -> Result<Domain, FlowError> {
        let root = root.as_ref().to_owned();
        fs::create_dir_all(&root).map_err(FlowError::io(&root))?;
        let options = read_options(&root)?;
        Ok(Domain { root, options })
    }

    /// Opens the domain at `root` with explicit options, ignoring `options.json`.
    pub fn with_options(root: impl AsRef<Path>, options: DomainOptions) -> Result<Domain, FlowError> {
        let root = root.as_ref().to_owned();
        fs::create_dir_all(&root).map_err(FlowError::io(&root))?;
        Ok(Domain { root, options })
    }

    /// The domain folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The domain's options.
    pub fn options(&self) -> &DomainOptions {
        &self.options
    }

    fn sizing(&self) -> Sizing {
        Sizing { history_ns: u64::try_from(self.options.history.as_nanos()).unwrap_or(u64::MAX) }
    }

    /// Creates a discrete flow (video, data, mux) and becomes its writer, or
    /// takes over the flow if it exists with no live writer.
    pub fn create_discrete(&self, descriptor: &FlowDescriptor) -> Result<DiscreteWriter, FlowError> {
        if descriptor.is_continuous() {
            return Err(FlowError::WrongKind { id: descriptor.id(), actual: "continuous", wanted: "discrete" });
        }
        Ok(DiscreteWriter::new(self.create_files(descriptor)?))
    }

    /// Creates a continuous (audio) flow and becomes its writer, or takes
    /// over the flow if it exists with no live writer.
    pub fn create_continuous(&self, descriptor: &FlowDescriptor) -> Result<ContinuousWriter, FlowError> {
        if !descriptor.is_continuous() {
            return Err(FlowError::WrongKind { id: descriptor.id(), actual: "discrete", wanted: "continuous" });
        }
        Ok(ContinuousWriter::new(self.create_files(descriptor)?))
    }

    /// Opens a reader on the discrete flow `id`.
    pub fn open_discrete(&self, id: Uuid) -> Result<DiscreteReader, FlowError> {
        let files = self.open_files(id)?;
        match files.body {
            Body::Discrete { .. } => Ok(DiscreteReader::new(files)),
            Body::Continuous { .. } => Err(FlowError::WrongKind { id, actual: "continuous", wanted: "discrete" }),
        }
    }

    /// Opens a reader on the continuous flow `id`.
    pub fn open_continuous(&self, id: Uuid) -> Result<ContinuousReader, FlowError> {
        let files = self.open_files(id)?;
        match files.body {
            Body::Continuous { .. } => Ok(ContinuousReader::new(files)),
            Body::Discrete { .. } => Err(FlowError::WrongKind { id, actual: "discrete", wanted: "continuous" }),
        }
    }

    fn open_files(&self, id: Uuid) -> Result<FlowFiles, FlowError> {
        let dir = files::flow_dir(&self.root, id);
        if !dir.is_dir() {
            return Err(FlowError::NotFound { domain: self.root.clone(), what: id.to_string() });
        }
        FlowFiles::open(&dir, Access::Read)
    }

    /// Lists the flows in the domain. Needs no daemon: everything is read
    /// from the folders.
    pub fn flows(&self) -> Result<FlowList, FlowError> {
        let mut list = FlowList::default();
        for dir in self.flow_dirs()? {
            let def = dir.join("flow_def.json");
            let entry = fs::read_to_string(&def)
                .map_err(FlowError::io(&def))
                .and_then(|text| {
                    FlowDescriptor::from_json(&text)
                        .map_err(|source| FlowError::Definition { path: def.clone(), source })
                })
                .and_then(|descriptor| {
                    let writer_active = files::writer_active(&dir.join("data"))?;
                    Ok(FlowEntry { dir: dir.clone(), descriptor, writer_active })
                });
            match entry {
                Ok(e) => list.flows.push(e),
                Err(e) => list.broken.push(e),
            }
        }
        list.flows.sort_by(|a, b| a.descriptor.label().cmp(b.descriptor.label()));
        Ok(list)
    }

    /// Finds a flow by id or, failing that, by exact label.
    pub fn find(&self, id_or_label: &str) -> Result<FlowEntry, FlowError> {
        let id = Uuid::parse_str(id_or_label).ok();
        self.flows()?
            .flows
            .into_iter()
            .find(|e| Some(e.descriptor.id()) == id || e.descriptor.label() == id_or_label)
            .ok_or_else(|| FlowError::NotFound { domain: self.root.clone(), what: id_or_label.to_owned() })
    }

    fn flow_dirs(&self) -> Result<Vec<PathBuf>, FlowError> {
        Ok(self.entries()?.into_iter().filter(|p| is_flow_dir(p)).collect())
    }

    fn entries(&self) -> Result<Vec<PathBuf>, FlowError> {
        let rd = fs::read_dir(&self.root).map_err(FlowError::io(&self.root))?;
        let mut out = Vec::new();
        for entry in rd {
            out.push(entry.map_err(FlowError::io(&self.root))?.path());
        }
        Ok(out)
    }

    /// Removes flows whose writer is gone and that have not been written for
    /// the grace period, half-built staging folders, and flow folders that
    /// lost their `data` file. Flows with a live writer are never touched.
    pub fn collect_garbage(&self) -> Result<GcReport, FlowError> {
        let mut report = GcReport::default();
        let grace = self.options.stale_grace;
        for path in self.entries()? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let data = path.join("data");
            let (is_flow, is_staging) = (is_flow_dir(&path), name.starts_with(STAGING_PREFIX) && path.is_dir());
            if !is_flow && !is_staging {
                continue;
            }
            let has_data = data.is_file();
            if has_data && files::writer_active(&data)? {
                continue;
            }
            let removable = if is_flow && has_data {
                idle_for(&data).is_none_or(|idle| idle >= grace)
            } else {
                older_than(&path, grace)
            };
            if removable {
                let bytes = dir_bytes(&path);
                match fs::remove_dir_all(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(FlowError::Io { path, source: e }),
                }
                report.bytes_freed += bytes;
                if is_flow && has_data {
                    report.removed_flows.push(path);
                } else {
                    report.removed_partial.push(path);
                }
            }
        }
        Ok(report)
    }

    /// Bytes the domain's flow and staging folders occupy.
    pub fn usage_bytes(&self) -> Result<u64, FlowError> {
        Ok(self.entries()?.iter().filter(|p| p.is_dir()).map(|p| dir_bytes(p)).sum())
    }

    fn lock(&self) -> Result<CreationLock, FlowError> {
        let path = self.root.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(FlowError::io(&path))?;
        file.lock().map_err(FlowError::io(&path))?;
        Ok(CreationLock(file))
    }

    fn create_files(&self, descriptor: &FlowDescriptor) -> Result<FlowFiles, FlowError> {
        let _lock = self.lock()?;
        let dir = files::flow_dir(&self.root, descriptor.id());
        if dir.exists()
            && let Some(files) = self.take_over(&dir, descriptor)?
        {
            return Ok(files);
        }
        self.collect_garbage()?;
        self.check_quota(descriptor)?;
        files::create(&self.root, descriptor, self.sizing())?.ok_or(FlowError::Busy { id: descriptor.id() })
    }

    /// Takes over an existing flow with no live writer. A folder that is
    /// broken or laid out for another format is removed (`Ok(None)`), and the
    /// caller creates the flow afresh.
    fn take_over(&self, dir: &Path, descriptor: &FlowDescriptor) -> Result<Option<FlowFiles>, FlowError> {
        let data = dir.join("data");
        if data.is_file() && files::writer_active(&data)? {
            return Err(FlowError::Busy { id: descriptor.id() });
        }
        match FlowFiles::open(dir, Access::Write) {
            Ok(mut files) if files.descriptor.geometry() == descriptor.geometry() => {
                if files.descriptor != *descriptor {
                    let def = dir.join("flow_def.json");
                    let tmp = dir.join(".flow_def.json.tmp");
                    fs::write(&tmp, descriptor.to_json()).map_err(FlowError::io(&tmp))?;
                    fs::rename(&tmp, &def).map_err(FlowError::io(&def))?;
                    files.descriptor = descriptor.clone();
                }
                Ok(Some(files))
            }
            Ok(_)
            | Err(FlowError::Io { .. })
            | Err(FlowError::Definition { .. })
            | Err(FlowError::Corrupt { .. })
            | Err(FlowError::Version { .. })
            | Err(FlowError::Format { .. })
            | Err(FlowError::Truncated { .. }) => {
                fs::remove_dir_all(dir).map_err(FlowError::io(dir))?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn check_quota(&self, descriptor: &FlowDescriptor) -> Result<(), FlowError> {
        let Some(quota) = self.options.quota_bytes else {
            return Ok(());
        };
        let needed = self.sizing().flow_bytes(descriptor);
        let used = self.usage_bytes()?;
        if used.saturating_add(needed) > quota {
            return Err(FlowError::Quota { domain: self.root.clone(), quota, used, needed });
        }
        Ok(())
    }
}

fn is_flow_dir(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(FLOW_DIR_SUFFIX)) && p.is_dir()
}

/// How long since the flow's writer last committed (`lastWriteTime`).
fn idle_for(data: &Path) -> Option<Duration> {
    let file = File::open(data).ok()?;
    let mut word = [0u8; 8];
    file.read_exact_at(&mut word, data_off::LAST_WRITE_TIME as u64).ok()?;
    Some(Duration::from_nanos(now_tai_ns().saturating_sub(u64::from_ne_bytes(word))))
}

fn older_than(path: &Path, grace: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= grace)
        .unwrap_or(true)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn read_options(root: &Path) -> Result<DomainOptions, FlowError> {
    let path = root.join("options.json");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DomainOptions::default()),
        Err(e) => return Err(FlowError::Io { path, source: e }),
    };
    let bad = |detail: String| FlowError::Corrupt { path: path.clone(), detail };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| bad("not a JSON object".into()))?;
    let number = |key: &str| -> Result<Option<u64>, FlowError> {
        match object.get(key) {
            None => Ok(None),
            // libmxl reads numbers as doubles and truncates; so do we.
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 1.0 && n.is_finite())
                .map(|n| Some(n as u64))
                .ok_or_else(|| bad(format!("{key} must be a positive number"))),
        }
    };
    let mut options = DomainOptions::default();
    if let Some(ns) = number(HISTORY_KEY)? {
        options.history = Duration::from_nanos(ns);
    }
    options.quota_bytes = number(QUOTA_KEY)?;
    if let Some(ms) = number(GRACE_KEY)? {
        options.stale_grace = Duration::from_millis(ms);
    }
    Ok(options)
}
