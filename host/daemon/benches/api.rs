//! API benchmarks: `cargo xtask bench api`.
//!
//! - `GET /api/v1/system` with a bearer token, under wrk (16 keep-alive
//!   connections, 2 threads, 5 s), over TLS and, for the cost of TLS, the
//!   same router over plain HTTP in the same process;
//! - the resident memory of an idle `stageboxd`, against an idle
//!   `python3 -m http.server` measured in the same run;
//! - its resident memory with 10 pipelines running (the two demo pipelines
//!   five times over: 720p25 colour bars through the timecode plugin, and
//!   SCTE-35 cues through the policy plugin), against the bytes of the
//!   flow rings they write (shared memory, counted in RSS as it is
//!   touched), and its private memory against the idle daemon's.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark fails by panicking

use stagebox_bench::report;
use stagebox_daemon::api::{self, AppState};
use stagebox_daemon::config::Config;
use stagebox_daemon::store::{Store, Token};
use stagebox_daemon::{auth, first_start, server, tls};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// wrk's requests per second and 99th percentile latency (ms).
fn wrk(url: &str, token: &str) -> (f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", "-d5s", "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .expect("wrk is installed by `cargo xtask setup`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("Non-2xx"), "{text}");
    let rps: f64 = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).unwrap().trim().parse().unwrap();
    let p99 = text.lines().map(str::trim).find_map(|l| l.strip_prefix("99%")).unwrap().trim();
    let ms = match p99 {
        v if v.ends_with("us") => v.trim_end_matches("us").parse::<f64>().unwrap() / 1000.0,
        v if v.ends_with("ms") => v.trim_end_matches("ms").parse::<f64>().unwrap(),
        v if v.ends_with('s') => v.trim_end_matches('s').parse::<f64>().unwrap() * 1000.0,
        v => panic!("wrk latency {v:?}"),
    };
    (rps, ms)
}

/// VmRSS of a process, MiB.
fn rss_mib(pid: u32) -> f64 {
    rss_field_mib(pid, "VmRSS:")
}

/// A kB field of `/proc/PID/status` (`VmRSS:`, `RssAnon:`), in MiB.
fn rss_field_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb / 1024.0
}

/// Starts a process and waits (bounded) for a line of its output that
/// says it is serving.
fn started(cmd: &mut Command, ready: &str) -> std::process::Child {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(line) if line.contains(ready) => return child,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not start within 20 s");
            }
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_owned();
    let store = Store::open(&state.join("state.redb")).unwrap();
    first_start(&store, &state).unwrap();
    let secret = auth::new_secret("sbx_", 32);
    let now = api::now_ms();
    let token = Token { user: "admin".into(), label: "bench".into(), created_ms: now, expires_ms: now + 3_600_000 };
    store.put_token(&auth::token_hash(&secret), &token).unwrap();
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (tls_config, certificates, _) = tls::server_config(&state, listen).unwrap();
    let flows = tempfile::tempdir_in("/dev/shm").unwrap();
    let config = Config {
        state_dir: state.clone(),
        listen,
        flow_domain: flows.path().to_owned(),
        demo_pipelines: false,
        ..Config::default()
    };
    let app_state = Arc::new(AppState::new(store, config, certificates).unwrap());
    let router = api::router(app_state);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (tls_addr, plain_addr) = runtime.block_on(async {
        let tls_listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        let plain_listener = tokio::net::TcpListener::bind(listen).await.unwrap();
        let addrs = (tls_listener.local_addr().unwrap(), plain_listener.local_addr().unwrap());
        tokio::spawn(server::serve(tls_listener, tls_config, router.clone(), std::future::pending()));
        let plain = router.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(plain_listener, plain).await });
        addrs
    });
    let (tls_rps, tls_p99) = wrk(&format!("https://{tls_addr}/api/v1/system"), &secret);
    let (plain_rps, plain_p99) = wrk(&format!("http://{plain_addr}/api/v1/system"), &secret);
    report("api_system_tls_rps", tls_rps, "req/s", "plain_http", plain_rps);
    report("api_system_tls_p99", tls_p99, "ms", "plain_http", plain_p99);
    drop(runtime);

    // Idle memory: the real daemon, and a minimal Python HTTP server.
    let daemon_state = tempfile::tempdir().unwrap();
    let bundled = daemon_state.path().join("bundled");
    stagebox_guest_artifacts::install_bundled(&bundled).unwrap();
    let (mut daemon, url) = started_daemon(
        Command::new(env!("CARGO_BIN_EXE_stageboxd"))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(daemon_state.path().join("state"))
            .env("STAGEBOX_LOG", "warn")
            .env("STAGEBOX_FLOW_DOMAIN", flows.path())
            .env("STAGEBOX_BUNDLED_PLUGINS", &bundled)
            .env("STAGEBOX_DEMO_PIPELINES", "false"),
    );
    let mut python =
        started(Command::new("python3").args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]), "Serving HTTP");
    let idle = rss_mib(daemon.id());
    let idle_anon = rss_field_mib(daemon.id(), "RssAnon:");
    report("daemon_idle_rss", idle, "MiB", "python_http_server", rss_mib(python.id()));
    let _ = python.kill();
    let _ = python.wait();

    // Ten pipelines.
    let state = daemon_state.path().join("state");
    let pem = std::fs::read(state.join("tls/cert.pem")).unwrap();
    let c = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let credential = std::fs::read_to_string(state.join("admin-credential")).unwrap();
    let password = credential.lines().find_map(|l| l.strip_prefix("password: ")).unwrap();
    let login: serde_json::Value = c
        .post(format!("{url}/api/v1/login"))
        .json(&serde_json::json!({ "username": "admin", "password": password }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["token"].as_str().unwrap();
    for i in 0..5 {
        for mut spec in stagebox_daemon::pipelines::demo_specs() {
            spec.name = format!("{}-{i}", spec.name);
            let name = spec.name.clone();
            let r = c.post(format!("{url}/api/v1/pipelines")).bearer_auth(token).json(&spec).send().unwrap();
            assert_eq!(r.status(), 201);
            let r = c.post(format!("{url}/api/v1/pipelines/{name}/start")).bearer_auth(token).send().unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    // Long enough for every ring to have been written all round.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let rings = stagebox_flow::Domain::open(flows.path()).unwrap().usage_bytes().unwrap() as f64 / (1 << 20) as f64;
    report("daemon_rss_10_pipelines", rss_mib(daemon.id()), "MiB", "flow_rings", rings);
    report("daemon_private_rss_10_pipelines", rss_field_mib(daemon.id(), "RssAnon:"), "MiB", "idle", idle_anon);
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// Starts stageboxd and returns it with its URL.
fn started_daemon(cmd: &mut Command) -> (std::process::Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Bounded by the daemon: it prints this line or exits.
    let url = lines
        .find_map(|l| l.ok()?.strip_prefix("stageboxd: listening on ").map(str::to_owned))
        .expect("stageboxd did not start");
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}
