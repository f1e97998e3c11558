//! stageboxd under a stand-in for systemd: it says READY once the API
//! listens, pings the watchdog at the asked interval, and on SIGTERM says
//! STOPPING and exits cleanly.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::Daemon;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

/// The next datagram, within `limit`.
fn next(socket: &UnixDatagram, limit: Duration) -> String {
    socket.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    let n = socket.recv(&mut buf).expect("no notification in time");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_owned()
}

#[test]
fn ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let state = dir.path().join("state");
    let started = Instant::now();
    let mut daemon =
        Daemon::start_with(&state, &[("NOTIFY_SOCKET", path.to_str().unwrap()), ("WATCHDOG_USEC", "200000")]);
    let ready = next(&socket, Duration::from_secs(10));
    assert!(ready.contains("READY=1"), "{ready:?}");
    assert!(ready.contains(&format!("STATUS=serving the API on {}", daemon.url)), "{ready:?}");
    // Pings at half the 200 ms interval: five come well within a second.
    for _ in 0..5 {
        assert_eq!(next(&socket, Duration::from_secs(2)), "WATCHDOG=1");
    }
    assert!(started.elapsed() < Duration::from_secs(20));

    let pid = daemon.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let msg = next(&socket, Duration::from_secs(10));
        if msg.contains("STOPPING=1") {
            break;
        }
        assert_eq!(msg, "WATCHDOG=1", "only pings come before STOPPING");
        assert!(Instant::now() < deadline, "no STOPPING within 10 s");
    }
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "stageboxd did not exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
