//! Running the real stageboxd in tests.

#![allow(dead_code, clippy::unwrap_used)] // each test uses what it needs

use reqwest::blocking::Client;
use serde_json::Value;
use stagebox_flow::Domain;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    /// The plain-HTTP streams address, when configured.
    pub streams_url: Option<String>,
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
        let mut daemon = Daemon {
            child,
            url: String::new(),
            printed_password: None,
            domain,
            fingerprint: String::new(),
            streams_url: None,
        };
        loop {
            let line = rx.recv_timeout(Duration::from_secs(20)).expect("stageboxd did not start within 20 s");
            if let Some(rest) = line.strip_prefix("stageboxd: first start: user admin, password ") {
                daemon.printed_password = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(print) = line.strip_prefix("stageboxd: certificate SHA-256 ") {
                daemon.fingerprint = print.to_owned();
            }
            if let Some(url) = line.strip_prefix("stageboxd: serving streams on ") {
                daemon.streams_url = Some(url.to_owned());
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

/// A binary of another package of the workspace, built as the workspace's
/// tests build it, and its path.
///
/// Building the one package (`cargo build -p`) resolves the dependencies'
/// features without the workspace's dev-dependencies, so on a cold target
/// it compiled them all again (three minutes on both cores, starving the
/// tests beside it). `cargo test --no-run --workspace` is closer to what
/// `cargo nextest run --workspace` built, but not the same: inside a
/// nextest run it still recompiles 9 crates (about 45 s). Known, not yet
/// fixed: the binaries should come from nextest's own build.
pub fn workspace_bin(bin: &str) -> std::path::PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["test", "--no-run", "--quiet", "--workspace"])
        .status()
        .unwrap();
    assert!(status.success(), "building the workspace for {bin}");
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

/// A daemon on a fresh state folder, and an admin's client.
pub struct Appliance {
    pub _dir: tempfile::TempDir,
    pub state: std::path::PathBuf,
    pub daemon: Daemon,
    pub c: Client,
    pub token: String,
}

impl Appliance {
    pub fn new(env: &[(&str, &str)]) -> Appliance {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Appliance::on(dir, state, env)
    }

    pub fn on(dir: tempfile::TempDir, state: std::path::PathBuf, env: &[(&str, &str)]) -> Appliance {
        let daemon = Daemon::start_with(&state, env);
        let c = client(&state);
        let token = admin_token(&c, &daemon.url, &state);
        Appliance { _dir: dir, state, daemon, c, token }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r =
            self.c.request(method.parse().unwrap(), format!("{}{path}", self.daemon.url)).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path}: {status} {v}");
        v
    }

    pub fn domain(&self) -> Domain {
        Domain::open(self.daemon.domain.path()).unwrap()
    }

    /// The event stream, one JSON event per message, read on a thread.
    pub fn events(&self) -> Events {
        let pem = std::fs::read(self.state.join("tls/cert.pem")).unwrap();
        // No timeout: the stream is meant to last.
        let c = Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(None)
            .build()
            .unwrap();
        let r = c.get(format!("{}/api/v1/events", self.daemon.url)).bearer_auth(&self.token).send().unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Ends when the daemon goes (the test's end).
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if let Some(data) = line.strip_prefix("data: ")
                    && tx.send(serde_json::from_str(data).unwrap()).is_err()
                {
                    break;
                }
            }
        });
        Events { rx, seen: Vec::new() }
    }

    pub fn node_status(&self, pipeline: &str, node: &str) -> Value {
        self.ok("GET", &format!("/api/v1/pipelines/{pipeline}"), None)["nodes"][node].clone()
    }
}

/// Events received so far, and the stream.
pub struct Events {
    rx: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Events {
    /// The first event of `kind` satisfying `pred`, among those received
    /// or arriving within `timeout`. Each event is returned once.
    pub fn wait(&mut self, kind: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let matches = |e: &Value| e["kind"] == kind && pred(e);
        if let Some(i) = self.seen.iter().position(matches) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self.rx.recv_timeout(left).unwrap_or_else(|_| panic!("no {kind} event within {timeout:?}"));
            if matches(&e) {
                return e;
            }
            self.seen.push(e);
        }
    }
}

/// Polls `f` every 50 ms until it gives `Some`, for at most `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `tests/browser/SCRIPT` under Node.js with `env`, bounded by
/// `limit`; fails with its output unless it exits 0 and prints `passed`.
/// Returns what it printed.
pub fn browser_script(script: &str, env: &[(&str, &std::ffi::OsStr)], limit: Duration, passed: &str) -> String {
    assert!(
        root().join("tests/browser/node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `cargo xtask setup`"
    );
    let mut child = Command::new("node")
        .arg(root().join("tests/browser").join(script))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{script} ran past {limit:?}:\n{}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(passed), "{stdout}");
    stdout.into_owned()
}
