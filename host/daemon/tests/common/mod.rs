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
    /// Its flow domain (on tmpfs), removed when dropped.
    pub domain: tempfile::TempDir,
    /// The SHA-256 of its certificate, as it printed it.
    pub fingerprint: String,
}

impl Daemon {
    pub fn start(state: &Path) -> Daemon {
        Daemon::start_with(state, &[])
    }

    /// Starts with extra environment variables. The daemon gets its own
    /// flow domain and the bundled plugins; demo pipelines are off unless
    /// `env` turns them on.
    pub fn start_with(state: &Path, env: &[(&str, &str)]) -> Daemon {
        let shm = Path::new("/dev/shm");
        let domain = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
        let bundled = state.with_extension("bundled");
        stagebox_guest_artifacts::install_bundled(&bundled).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_stageboxd"))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state)
            .env("STAGEBOX_LOG", "warn")
            .env("STAGEBOX_FLOW_DOMAIN", domain.path())
            .env("STAGEBOX_BUNDLED_PLUGINS", &bundled)
            .env("STAGEBOX_DEMO_PIPELINES", "false")
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
        let mut daemon =
            Daemon { child, url: String::new(), printed_password: None, domain, fingerprint: String::new() };
        loop {
            let line = rx.recv_timeout(Duration::from_secs(20)).expect("stageboxd did not start within 20 s");
            if let Some(rest) = line.strip_prefix("stageboxd: first start: user admin, password ") {
                daemon.printed_password = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(print) = line.strip_prefix("stageboxd: certificate SHA-256 ") {
                daemon.fingerprint = print.to_owned();
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

/// Builds a binary of another package of the workspace (a no-op when it
/// is fresh, as it is after `cargo test --workspace`) and returns its path.
pub fn workspace_bin(package: &str, bin: &str) -> std::path::PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .status()
        .unwrap();
    assert!(status.success(), "building {bin}");
    // target/<profile>/deps/<test> → target/<profile>/<bin>
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().join(bin)
}

/// The repository's root.
pub fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tool from the Python that `cargo xtask setup` puts in `target/py`.
/// Tests fail, rather than skip, without it.
pub fn py_tool(name: &str) -> std::path::PathBuf {
    let p = root().join("target/py/bin").join(name);
    assert!(p.exists(), "{} is missing: run `cargo xtask setup`", p.display());
    p
}

/// Logs in as admin with the first-start credential; returns the token.
pub fn admin_token(c: &Client, url: &str, state: &Path) -> String {
    let text = std::fs::read_to_string(state.join("admin-credential")).unwrap();
    let password = text.lines().find_map(|l| l.strip_prefix("password: ")).unwrap();
    let r = c
        .post(format!("{url}/api/v1/login"))
        .json(&serde_json::json!({ "username": "admin", "password": password }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().unwrap()["token"].as_str().unwrap().to_owned()
}
