//! Flows over their life: created byte-exact to MXL, listed, taken over after
//! a writer dies, released, garbage-collected and kept under quota.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::*;
use stagebox_flow::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}

/// The files on disk, read as plain bytes, against MXL-LAYOUT.md §2–§5.
#[test]
fn files_on_disk_follow_the_mxl_layout() {
    let (_dir, domain) = domain();
    let desc = video(1920, 1080, 50);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let mut g = writer.grant(7).unwrap();
    g.payload_mut()[0] = 0xAB;
    g.commit().unwrap();
    let flow = domain.root().join(format!("{}.mxl-flow", desc.id().hyphenated()));
    assert_eq!(fs::metadata(&flow).unwrap().mode() & 0o777, 0o755);
    assert_eq!(fs::metadata(flow.join("access")).unwrap().len(), 0);
    assert_eq!(FlowDescriptor::from_json(&fs::read_to_string(flow.join("flow_def.json")).unwrap()).unwrap(), desc);
    let data = fs::read(flow.join("data")).unwrap();
    assert_eq!(data.len(), 2064);
    assert_eq!(u32_at(&data, 0), 1, "version");
    assert_eq!(u32_at(&data, 4), 2048, "size");
    assert_eq!(&data[8..24], desc.id().as_bytes(), "id in textual byte order");
    assert_eq!(u32_at(&data, 24), 1, "format VIDEO");
    assert_eq!((u64_at(&data, 32), u64_at(&data, 40)), (50, 1), "grain rate");
    assert_eq!((u32_at(&data, 48), u32_at(&data, 52)), (1080, 1080), "commit and sync hints = total slices");
    assert_eq!(u32_at(&data, 56), 0, "payload in host memory");
    assert_eq!(u32_at(&data, 60) as i32, -1, "device index");
    assert_eq!([u32_at(&data, 136), u32_at(&data, 140), u32_at(&data, 144), u32_at(&data, 148)], [5120, 0, 0, 0]);
    assert_eq!(u32_at(&data, 152), 10, "grain count");
    assert_eq!(u64_at(&data, 200), 7, "head index");
    assert!(u64_at(&data, 208) > 0, "last write time");
    assert_eq!(u64_at(&data, 2048), fs::metadata(flow.join("data")).unwrap().ino(), "inode");
    assert_eq!(u32_at(&data, 2056), 1, "sync counter: one commit");
    assert!(data[64..136].iter().chain(&data[156..200]).chain(&data[224..2048]).all(|b| *b == 0), "reserved");
    for n in 0..10 {
        let path = flow.join(format!("grains/data.{n}"));
        assert_eq!(fs::metadata(&path).unwrap().len(), 8192 + 5_529_600);
        let g = fs::read(&path).unwrap();
        assert_eq!((u32_at(&g, 0), u32_at(&g, 4), u32_at(&g, 20)), (1, 4096, 5_529_600), "grain {n} header");
        assert_eq!(u16::from_ne_bytes([g[24], g[25]]), 1080, "total slices");
        let (index, valid) = if n == 7 { (7, 1080) } else { (0, 0) };
        assert_eq!(
            (u64_at(&g, 8), u16::from_ne_bytes([g[26], g[27]])),
            (index, valid),
            "grain {n} index and valid slices"
        );
        assert_eq!(g[8192], if n == 7 { 0xAB } else { 0 }, "payload at 8192");
        assert!(g[28..4096].iter().all(|b| *b == 0), "reserved bytes of a standard grain stay zero");
    }
}

#[test]
fn extension_flows_are_refused_by_stock_mxl() {
    let (_dir, domain) = domain();
    for desc in [
        mux(1316),
        FlowDescriptor::new(
            uuid::Uuid::new_v4(),
            "cc",
            FlowFormat::Data(DataFormat { kind: DataKind::CcData, rate: rate(30000, 1001), max_grain_bytes: 96 }),
        )
        .unwrap(),
    ] {
        let _w = domain.create_discrete(&desc).unwrap();
        let flow = domain.root().join(format!("{}.mxl-flow", desc.id()));
        let data = fs::read(flow.join("data")).unwrap();
        // libmxl opens a flow only if format is 1, 2 or 3 (MXL-LAYOUT.md §6).
        assert!(!(1..=3).contains(&u32_at(&data, 24)), "format {:#x}", u32_at(&data, 24));
        assert!(!desc.is_mxl_standard());
    }
    let smpte291 = FlowDescriptor::new(
        uuid::Uuid::new_v4(),
        "anc",
        FlowFormat::Data(DataFormat { kind: DataKind::Smpte291, rate: rate(50, 1), max_grain_bytes: 4096 }),
    )
    .unwrap();
    let _w = domain.create_discrete(&smpte291).unwrap();
    let data = fs::read(domain.root().join(format!("{}.mxl-flow/data", smpte291.id()))).unwrap();
    assert_eq!(u32_at(&data, 24), 3, "SMPTE 291 is a standard MXL data flow");
}

#[test]
fn history_option_sizes_rings_like_libmxl() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("options.json"), r#"{"urn:x-mxl:option:history_duration/v1.0": 100000000}"#).unwrap();
    let domain = Domain::open(dir.path()).unwrap();
    assert_eq!(domain.options().history, Duration::from_millis(100));
    assert_eq!(domain.create_discrete(&video(64, 4, 50)).unwrap().grain_count(), 5);
    let (_d, default) = common::domain();
    let ntsc = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, 64, 4, rate(30000, 1001)));
    let ntsc = FlowDescriptor::new(uuid::Uuid::new_v4(), "ntsc", ntsc).unwrap();
    assert_eq!(default.create_discrete(&ntsc).unwrap().grain_count(), 5);
}

#[test]
fn one_writer_per_flow_and_release_removes_it() {
    let (_dir, domain) = domain();
    let desc = video(64, 4, 50);
    let writer = domain.create_discrete(&desc).unwrap();
    assert!(matches!(domain.create_discrete(&desc), Err(FlowError::Busy { .. })));
    let reader = domain.open_discrete(desc.id()).unwrap();
    assert_eq!(reader.status(), FlowStatus::Live);
    drop(writer);
    assert_eq!(reader.status(), FlowStatus::Removed);
    assert_eq!(reader.wait(1, Duration::from_secs(10)).err(), Some(ReadError::FlowRemoved));
    assert!(domain.flows().unwrap().flows.is_empty());
}

/// A child process that is killed when the test ends, pass or fail.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_writer(domain: &Domain, id: uuid::Uuid) -> KillOnDrop {
    let child = Command::new(env!("CARGO_BIN_EXE_flow-write"))
        .arg("--domain")
        .arg(domain.root())
        .args(["--id", &id.to_string(), "--width", "320", "--height", "180", "--rate", "100/1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

fn open_when_ready(domain: &Domain, id: uuid::Uuid) -> DiscreteReader {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match domain.open_discrete(id) {
            Ok(r) => return r,
            Err(FlowError::NotFound { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("flow never appeared: {e}"),
        }
    }
}

/// A writer killed with SIGKILL leaves its flow behind. Readers blocked on it
/// learn the writer is gone within the liveness period instead of hanging,
/// and a new writer takes the flow over where it stopped.
#[test]
fn killed_writer_is_seen_as_gone_and_its_flow_taken_over() {
    let (_dir, domain) = domain();
    let id = uuid::Uuid::new_v4();
    let mut child = spawn_writer(&domain, id);
    let reader = open_when_ready(&domain, id);
    // The writer indexes grains by TAI time; follow its head to the next one.
    let first = (0..100)
        .find_map(|_| match reader.wait(reader.head_index() + 1, Duration::from_secs(10)) {
            Ok(view) => Some(view.index()),
            Err(ReadError::TooLate { .. }) => None,
            Err(e) => panic!("no grain from the writer: {e}"),
        })
        .expect("caught up with the writer");
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let started = Instant::now();
    let outcome = reader.wait(first + 1_000_000, Duration::from_secs(30)).err();
    assert_eq!(outcome, Some(ReadError::WriterGone));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?} to notice", started.elapsed());
    assert_eq!(reader.status(), FlowStatus::WriterGone);
    let listed = domain.find(&id.to_string()).unwrap();
    assert!(!listed.writer_active);

    // Take over: same files, so the old reader keeps working.
    let mut writer = domain.create_discrete(&listed.descriptor).unwrap();
    let head = writer.head_index();
    assert!(head >= first, "takeover keeps the head index");
    let mut g = writer.grant(head + 1).unwrap();
    fill(g.payload_mut(), head + 1);
    g.commit().unwrap();
    assert_eq!(reader.status(), FlowStatus::Live);
    assert!(matches(reader.wait(head + 1, Duration::from_secs(5)).unwrap().payload(), head + 1));
}

#[test]
fn registry_lists_and_finds_flows_without_a_daemon() {
    let (_dir, domain) = domain();
    let a = FlowDescriptor::new(uuid::Uuid::new_v4(), "Cam B", video(64, 4, 50).format().clone()).unwrap();
    let b = FlowDescriptor::new(uuid::Uuid::new_v4(), "Cam A", video(64, 4, 50).format().clone()).unwrap();
    let c = audio(2);
    let _w = (
        domain.create_discrete(&a).unwrap(),
        domain.create_discrete(&b).unwrap(),
        domain.create_continuous(&c).unwrap(),
    );
    fs::create_dir(domain.root().join(format!("{}.mxl-flow", uuid::Uuid::new_v4()))).unwrap();
    // A second Domain handle, as another process would open it.
    let other = Domain::open(domain.root()).unwrap();
    let list = other.flows().unwrap();
    let labels: Vec<&str> = list.flows.iter().map(|e| e.descriptor.label()).collect();
    assert_eq!(labels, ["Cam A", "Cam B", "audio"]);
    assert!(list.flows.iter().all(|e| e.writer_active));
    assert_eq!(list.broken.len(), 1, "the empty folder is reported, not hidden");
    assert_eq!(other.find("Cam B").unwrap().descriptor, a);
    assert_eq!(other.find(&c.id().to_string()).unwrap().descriptor, c);
    assert!(matches!(other.find("Cam C"), Err(FlowError::NotFound { .. })));
}

#[test]
fn garbage_collection_reclaims_stale_and_half_built_flows_only() {
    let options = DomainOptions { stale_grace: Duration::ZERO, ..Default::default() };
    let (_dir, domain) = domain_with(options.clone());
    let live = video(64, 4, 50);
    let _writer = domain.create_discrete(&live).unwrap();
    // A flow whose writer crashed.
    let stale = video(64, 4, 50);
    let (_d, other, stale_dir) = stale_flow(&stale, 1);
    copy_dir(&stale_dir, &domain.root().join(stale_dir.file_name().unwrap()));
    drop(other);
    // A staging folder a crashed creator left, and a flow folder without data.
    let staging = domain.root().join(".mxl-tmp-0123456789abcdef");
    fs::create_dir_all(staging.join("grains")).unwrap();
    fs::write(staging.join("grains/data.0"), vec![0u8; 10_000]).unwrap();
    let husk = domain.root().join(format!("{}.mxl-flow", uuid::Uuid::new_v4()));
    fs::create_dir(&husk).unwrap();

    let before = domain.usage_bytes().unwrap();
    let report = domain.collect_garbage().unwrap();
    assert_eq!(report.removed_flows.len(), 1);
    assert!(report.removed_flows[0].ends_with(stale_dir.file_name().unwrap()));
    assert_eq!(report.removed_partial.len(), 2);
    assert!(!staging.exists() && !husk.exists());
    assert!(report.bytes_freed >= 10_000);
    assert_eq!(domain.usage_bytes().unwrap(), before - report.bytes_freed);
    // The live flow is untouched.
    assert!(domain.open_discrete(live.id()).is_ok());

    // With a grace period, a freshly abandoned flow is kept for a while.
    let patient =
        Domain::with_options(domain.root(), DomainOptions { stale_grace: Duration::from_secs(3600), ..options })
            .unwrap();
    let (_d2, _o2, stale2) = stale_flow(&video(64, 4, 50), 1);
    copy_dir(&stale2, &domain.root().join(stale2.file_name().unwrap()));
    assert!(patient.collect_garbage().unwrap().removed_flows.is_empty());
}

#[test]
fn quota_refuses_flows_that_do_not_fit_after_reclaiming() {
    let big = video(1920, 1080, 50); // 10 grains of 5.5 MB
    let small = video(64, 4, 50);
    let options = DomainOptions { quota_bytes: Some(30_000_000), stale_grace: Duration::ZERO, ..Default::default() };
    let (_dir, domain) = domain_with(options);
    let err = domain.create_discrete(&big).err().expect("56 MB flow in a 30 MB quota");
    assert!(matches!(err, FlowError::Quota { quota: 30_000_000, .. }), "{err}");
    assert!(domain.flows().unwrap().flows.is_empty(), "nothing half-made is left");
    let _small = domain.create_discrete(&small).unwrap();
    // A stale flow counts until it is reclaimed, which creation does first.
    let medium = video(1920, 200, 50);
    let (_d, _o, stale) = stale_flow(&medium, 1);
    copy_dir(&stale, &domain.root().join(stale.file_name().unwrap()));
    let used = domain.usage_bytes().unwrap();
    assert!(used > 10_000_000);
    let _second = domain.create_discrete(&video(1920, 200, 50)).unwrap();
    assert!(!domain.root().join(stale.file_name().unwrap()).exists(), "stale flow reclaimed to make room");
}
