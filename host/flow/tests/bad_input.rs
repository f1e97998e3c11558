//! Corrupt, truncated or foreign files give a clear, typed error: never a
//! crash, never a read outside a mapping.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::*;
use stagebox_flow::*;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

type Check = fn(&FlowError) -> bool;
/// A named way to damage a flow folder, and the error it must produce.
type Case = (&'static str, Box<dyn Fn(&Path)>, Check);

fn poke(path: &Path, offset: u64, bytes: &[u8]) {
    OpenOptions::new().write(true).open(path).unwrap().write_all_at(bytes, offset).unwrap();
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

fn open_err(domain: &Domain, desc: &FlowDescriptor) -> FlowError {
    let err = match domain.open_discrete(desc.id()) {
        Ok(_) => panic!("corrupt flow opened"),
        Err(e) => e,
    };
    // Every error names the file it is about.
    assert!(err.to_string().contains(".mxl-flow"), "{err}");
    err
}

/// Applies each damage to a fresh stale copy of a flow with `desc` and checks
/// that opening it fails with the expected error.
fn damage_each(desc: &FlowDescriptor, cases: Vec<Case>) {
    for (name, damage, expected) in cases {
        let (_d, domain, flow) = stale_flow(desc, 2);
        damage(&flow);
        let err = open_err(&domain, desc);
        assert!(expected(&err), "{name}: got {err:?}");
    }
}

#[test]
fn an_untouched_stale_copy_opens() {
    let desc = video(640, 360, 50);
    let (_d, domain, _flow) = stale_flow(&desc, 3);
    let reader = domain.open_discrete(desc.id()).unwrap();
    assert!(matches(reader.get(2).unwrap().payload(), 2));
    assert_eq!(reader.status(), FlowStatus::WriterGone);
}

#[test]
fn corrupt_data_file() {
    let desc = video(640, 360, 50);
    let cases: Vec<Case> = vec![
        ("truncated", Box::new(|f| truncate(&f.join("data"), 100)), |e| {
            matches!(e, FlowError::Truncated { expected: 2064, found: 100, .. })
        }),
        ("version 2", Box::new(|f| poke(&f.join("data"), 0, &2u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Version { found: 2, .. })
        }),
        ("format 9", Box::new(|f| poke(&f.join("data"), 24, &9u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Format { found: 9, .. })
        }),
        ("audio format on a video flow", Box::new(|f| poke(&f.join("data"), 24, &2u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
        ("grain count 0", Box::new(|f| poke(&f.join("data"), 152, &0u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
        ("grain count 4 billion", Box::new(|f| poke(&f.join("data"), 152, &u32::MAX.to_ne_bytes())), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
        ("grain count beyond the files", Box::new(|f| poke(&f.join("data"), 152, &11u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Io { .. })
        }),
        (
            "slice size that does not fit the geometry",
            Box::new(|f| poke(&f.join("data"), 136, &1u32.to_ne_bytes())),
            |e| matches!(e, FlowError::Corrupt { .. }),
        ),
        ("rate unlike flow_def", Box::new(|f| poke(&f.join("data"), 32, &60u64.to_ne_bytes())), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
        ("id unlike flow_def", Box::new(|f| poke(&f.join("data"), 8, &[0xff; 16])), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
    ];
    damage_each(&desc, cases);
}

#[test]
fn corrupt_grain_files() {
    let desc = video(640, 360, 50);
    let cases: Vec<Case> = vec![
        ("truncated payload", Box::new(|f| truncate(&f.join("grains/data.3"), 8192 + 100)), |e| {
            matches!(e, FlowError::Truncated { .. })
        }),
        ("truncated header", Box::new(|f| truncate(&f.join("grains/data.0"), 10)), |e| {
            matches!(e, FlowError::Truncated { found: 10, .. })
        }),
        ("version 7", Box::new(|f| poke(&f.join("grains/data.1"), 0, &7u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Version { found: 7, .. })
        }),
        ("grain size unlike the flow", Box::new(|f| poke(&f.join("grains/data.1"), 20, &64u32.to_ne_bytes())), |e| {
            matches!(e, FlowError::Corrupt { .. })
        }),
        ("missing grain", Box::new(|f| fs::remove_file(f.join("grains/data.9")).unwrap()), |e| {
            matches!(e, FlowError::Io { .. })
        }),
    ];
    damage_each(&desc, cases);
}

#[test]
fn missing_or_invalid_flow_definition() {
    let desc = video(640, 360, 50);
    let other_geometry =
        video(1280, 720, 50).to_json().replace(&video(1280, 720, 50).id().to_string(), &desc.id().to_string());
    let cases: Vec<Case> = vec![
        (
            "missing",
            Box::new(|f| fs::remove_file(f.join("flow_def.json")).unwrap()),
            |e| matches!(e, FlowError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        ),
        ("not json", Box::new(|f| fs::write(f.join("flow_def.json"), "{ nope").unwrap()), |e| {
            matches!(e, FlowError::Definition { source: DescriptorError::Json(_), .. })
        }),
        (
            "impossible geometry",
            Box::new(|f| {
                let text = fs::read_to_string(f.join("flow_def.json"))
                    .unwrap()
                    .replace("\"frame_width\": 640", "\"frame_width\": 9000");
                fs::write(f.join("flow_def.json"), text).unwrap();
            }),
            |e| matches!(e, FlowError::Definition { source: DescriptorError::Geometry(_), .. }),
        ),
        (
            "geometry unlike the files",
            Box::new(move |f| fs::write(f.join("flow_def.json"), &other_geometry).unwrap()),
            |e| matches!(e, FlowError::Corrupt { .. }),
        ),
    ];
    damage_each(&desc, cases);
}

#[test]
fn corrupt_audio_ring() {
    let desc = audio(2);
    let (_d, domain, flow) = stale_flow(&desc, 0);
    truncate(&flow.join("channels"), 4096);
    let err = domain.open_continuous(desc.id()).err().expect("truncated channels opened");
    assert!(matches!(err, FlowError::Truncated { found: 4096, .. }), "{err:?}");
    let (_d, domain, flow) = stale_flow(&desc, 0);
    poke(&flow.join("data"), 140, &1u32.to_ne_bytes());
    assert!(matches!(domain.open_continuous(desc.id()), Err(FlowError::Corrupt { .. })));
}

#[test]
fn hostile_variable_length_is_clamped_to_capacity() {
    let desc = mux(188);
    let (_d, domain, flow) = stale_flow(&desc, 2);
    // Grain 1 claims 4 GiB of payload in a 188-byte slot.
    poke(&flow.join("grains/data.1"), 28, &u32::MAX.to_ne_bytes());
    let reader = domain.open_discrete(desc.id()).unwrap();
    assert_eq!(reader.get(1).unwrap().payload().len(), 188);
}

#[test]
fn wrong_kind_and_unknown_ids() {
    let (_dir, domain) = domain();
    let v = video(64, 4, 50);
    let a = audio(1);
    let _w = domain.create_discrete(&v).unwrap();
    let _a = domain.create_continuous(&a).unwrap();
    assert!(matches!(domain.open_continuous(v.id()), Err(FlowError::WrongKind { .. })));
    assert!(matches!(domain.open_discrete(a.id()), Err(FlowError::WrongKind { .. })));
    assert!(matches!(domain.create_discrete(&a), Err(FlowError::WrongKind { .. })));
    assert!(matches!(domain.open_discrete(uuid::Uuid::new_v4()), Err(FlowError::NotFound { .. })));
}

#[test]
fn invalid_domain_options() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("options.json"), r#"{"urn:x-mxl:option:history_duration/v1.0": "long"}"#).unwrap();
    let err = Domain::open(dir.path()).unwrap_err();
    assert!(matches!(err, FlowError::Corrupt { .. }) && err.to_string().contains("history_duration"), "{err}");
    fs::write(dir.path().join("options.json"), "[]").unwrap();
    assert!(matches!(Domain::open(dir.path()), Err(FlowError::Corrupt { .. })));
}
