//! The example binaries across processes: one `flow-write`, several
//! `flow-read`s, and clear failures.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use std::process::{Command, Stdio};

fn write_cmd(domain: &std::path::Path, id: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow-write"));
    c.arg("--domain").arg(domain).args(["--id", id]);
    c
}

fn read_cmd(domain: &std::path::Path, id: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_flow-read"));
    c.arg("--domain").arg(domain).args(["--id", id]);
    c
}

#[test]
fn one_writer_process_feeds_three_reader_processes() {
    let (_dir, domain) = common::domain();
    let id = uuid::Uuid::new_v4().to_string();
    // 150 grains at 100 Hz: 1.5 s. Readers start first and wait for the flow.
    let readers: Vec<_> = (0..3)
        .map(|_| {
            read_cmd(domain.root(), &id)
                .args(["--count", "50", "--timeout-ms", "10000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let writer = write_cmd(domain.root(), &id)
        .args(["--width", "1920", "--height", "1080", "--rate", "100/1", "--count", "150"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for reader in readers {
        let out = reader.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "flow-read failed: {}", String::from_utf8_lossy(&out.stderr));
        let grains: Vec<(u64, f64, bool)> = stdout
            .lines()
            .filter(|l| l.starts_with("grain ") && l.contains("latency_us"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[1].parse().unwrap(), f[3].parse().unwrap(), f[5] == "true")
            })
            .collect();
        assert_eq!(grains.len(), 50, "{stdout}");
        assert!(grains.windows(2).all(|w| w[1].0 > w[0].0), "indices increase");
        assert!(grains.iter().all(|g| g.2), "every grain intact");
        // Latency is measured from the grain's time to its arrival: it can
        // be large on a loaded machine but never negative or absurd.
        assert!(grains.iter().all(|g| g.1 >= 0.0 && g.1 < 5e6), "{stdout}");
    }
    let out = writer.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 150 grains"));
}

#[test]
fn binaries_fail_clearly() {
    let (_dir, domain) = common::domain();
    let id = uuid::Uuid::new_v4().to_string();
    let out = write_cmd(domain.root(), &id).args(["--width", "1", "--count", "1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("impossible geometry") && err.contains("width 1"), "{err}");

    let out = write_cmd(domain.root(), "not-a-uuid").output().unwrap();
    assert!(!out.status.success());

    let out = read_cmd(domain.root(), &id).args(["--timeout-ms", "100"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no flow") && err.contains(&id), "{err}");

    // A reader that wants 1000 grains from a writer that stops after 20
    // says what happened and fails.
    let reader = read_cmd(domain.root(), &id)
        .args(["--count", "1000", "--timeout-ms", "10000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = write_cmd(domain.root(), &id);
    writer.args(["--width", "64", "--height", "4", "--rate", "100/1", "--count", "20"]);
    assert!(writer.output().unwrap().status.success());
    let out = reader.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("removed") || err.contains("writer is gone"), "{err}");
}
