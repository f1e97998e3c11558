//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use stagebox_flow::*;
use std::path::Path;
use uuid::Uuid;

/// A fresh domain, on tmpfs when the machine has /dev/shm (as in production).
pub fn domain_with(options: DomainOptions) -> (tempfile::TempDir, Domain) {
    let base = if Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let dir = tempfile::Builder::new().prefix("stagebox-test-").tempdir_in(base).unwrap();
    let domain = Domain::with_options(dir.path(), options).unwrap();
    (dir, domain)
}

pub fn domain() -> (tempfile::TempDir, Domain) {
    domain_with(DomainOptions::default())
}

pub fn rate(n: u64, d: u64) -> Rational {
    Rational::new(n, d).unwrap()
}

pub fn video(width: u32, height: u32, fps: u64) -> FlowDescriptor {
    let format = FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, width, height, rate(fps, 1)));
    FlowDescriptor::new(Uuid::new_v4(), &format!("video {width}x{height}"), format).unwrap()
}

pub fn audio(channels: u32) -> FlowDescriptor {
    let format = FlowFormat::Audio(AudioFormat { sample_rate: rate(48000, 1), channels, sample: SampleFormat::F32 });
    FlowDescriptor::new(Uuid::new_v4(), "audio", format).unwrap()
}

pub fn mux(max_grain_bytes: u32) -> FlowDescriptor {
    let format = FlowFormat::Mux(MuxFormat { kind: MuxKind::MpegTs, rate: rate(100, 1), max_grain_bytes });
    FlowDescriptor::new(Uuid::new_v4(), "ts", format).unwrap()
}

/// A byte pattern that depends on the grain index: used to detect torn reads.
pub fn fill(payload: &mut [u8], index: u64) {
    let seed = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for (i, chunk) in payload.chunks_mut(8).enumerate() {
        let word = (seed ^ i as u64).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// Whether `payload` is exactly the pattern of grain `index`.
pub fn matches(payload: &[u8], index: u64) -> bool {
    let seed = index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    payload.chunks(8).enumerate().all(|(i, chunk)| chunk == &(seed ^ i as u64).to_le_bytes()[..chunk.len()])
}

/// Copies a live flow folder into another domain, so that the copy is a
/// complete flow with no writer (as after a crash).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A flow with no writer in a fresh domain: made by a writer, copied, and the
/// writer dropped. Returns the domain, the descriptor and the flow folder.
pub fn stale_flow(descriptor: &FlowDescriptor, grains_written: u64) -> (tempfile::TempDir, Domain, std::path::PathBuf) {
    let (_live_dir, live) = domain();
    let (dir, copy) = domain();
    let mut writer = if descriptor.is_continuous() { None } else { Some(live.create_discrete(descriptor).unwrap()) };
    let _audio = if descriptor.is_continuous() { Some(live.create_continuous(descriptor).unwrap()) } else { None };
    if let Some(w) = writer.as_mut() {
        for i in 0..grains_written {
            let mut g = w.grant(i).unwrap();
            fill(g.payload_mut(), i);
            g.commit().unwrap();
        }
    }
    let name = format!("{}.mxl-flow", descriptor.id());
    copy_dir(&live.root().join(&name), &copy.root().join(&name));
    let flow = copy.root().join(name);
    // The copy is a new file: record its inode as its creator would have.
    use std::os::unix::fs::{FileExt, MetadataExt};
    let data = std::fs::OpenOptions::new().write(true).open(flow.join("data")).unwrap();
    let inode = data.metadata().unwrap().ino();
    data.write_all_at(&inode.to_ne_bytes(), 2048).unwrap();
    (dir, copy, flow)
}
