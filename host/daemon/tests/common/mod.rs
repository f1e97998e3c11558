//! Running the real stageboxd in tests.

#![allow(dead_code, clippy::unwrap_used)] // each test uses what it needs

use reqwest::blocking::Client;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running daemon, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub url: String,
    /// The password printed on first start, if this start printed one.
    pub printed_password: Option<String>,
}

impl Daemon {
    pub fn start(state: &Path) -> Daemon {
        Daemon::start_with(state, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with(state: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stageboxd"))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state)
            .env("STAGEBOX_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned from here, so a failure below still kills the process.
        let mut daemon = Daemon { child, url: String::new(), printed_password: None };
        loop {
            let line = rx.recv_timeout(Duration::from_secs(20)).expect("stageboxd did not start within 20 s");
            if let Some(rest) = line.strip_prefix("stageboxd: first start: user admin, password ") {
                daemon.printed_password = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(url) = line.strip_prefix("stageboxd: listening on ") {
                daemon.url = url.to_owned();
                return daemon;
            }
        }
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that trusts only the daemon's own certificate.
pub fn client(state: &Path) -> Client {
    let pem = std::fs::read(state.join("tls/cert.pem")).unwrap();
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
