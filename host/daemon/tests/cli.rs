//! The `stagebox` command against a real daemon: every subcommand, its
//! tables and `--json`, and its error paths (the API's message shown, a
//! non-zero exit). Trust on first use: the certificate's fingerprint is
//! refused until accepted, then pinned.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Daemon, workspace_bin};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";

struct Cli {
    exe: PathBuf,
    config: PathBuf,
}

/// What one run printed, and how it ended.
#[derive(Debug)]
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "{self:?}");
        self.out
    }

    /// Fails with `message` in its error line.
    fn fails_with(&self, message: &str) {
        assert_eq!(self.code, 1, "{self:?}");
        assert!(self.err.starts_with("stagebox: error: ") && self.err.contains(message), "{self:?}");
    }
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args).env("STAGEBOX_CLI_CONFIG", &self.config);
        c
    }

    fn run_with(&self, args: &[&str], stdin: &str) -> Run {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8(out.stdout).unwrap(),
            err: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, "")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.run(&all).ok()).unwrap()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_cli_covers_every_resource_and_shows_the_apis_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "stageboxd.toml", "allow_unsigned_plugins = true\n");
    let state = dir.path().join("state");
    let daemon = Daemon::start_with(&state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let cli = Cli { exe: workspace_bin("stagebox"), config: dir.path().join("cli/cli.toml") };
    let url = daemon.url.as_str();
    let password = std::fs::read_to_string(state.join("admin-credential")).unwrap();
    let password = format!("{}\n", password.lines().find_map(|l| l.strip_prefix("password: ")).unwrap());

    // Not logged in yet.
    cli.run(&["status"]).fails_with("not logged in");
    // First contact without a terminal: the fingerprint is shown, nothing kept.
    let r = cli.run_with(&["login", url, "--password-stdin"], &password);
    r.fails_with(&format!("its certificate's SHA-256 is {}", daemon.fingerprint));
    assert!(!cli.config.exists());
    let wrong = "00".repeat(32);
    cli.run_with(&["login", url, "--fingerprint", &wrong, "--password-stdin"], &password)
        .fails_with("the box's certificate changed");
    cli.run_with(&["login", url, "--fingerprint", &daemon.fingerprint, "--password-stdin"], "guess\n")
        .fails_with("401 Unauthorized: wrong user name or password");
    let r = cli.run_with(&["login", url, "--fingerprint", &daemon.fingerprint, "--password-stdin"], &password);
    assert_eq!(r.code, 0, "{r:?}");
    let mode = std::fs::metadata(&cli.config).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);

    // health, metrics, status
    assert!(cli.run(&["health"]).ok().trim().ends_with(": ok"));
    let metrics = cli.run(&["metrics"]).ok();
    assert!(metrics.contains("# TYPE stagebox_uptime_seconds gauge"), "{metrics}");
    assert!(cli.run(&["status"]).ok().contains(&format!("tls:       SHA-256 {}", daemon.fingerprint)));
    assert_eq!(cli.json(&["status"])["tls"]["sha256"], daemon.fingerprint.as_str());

    // plugins: ls, upload (with its progress), show, enable, disable, rm, and errors.
    let ls = cli.run(&["plugins", "ls"]).ok();
    assert!(ls.starts_with("NAME") && ls.contains("timecode") && ls.contains("bundled"), "{ls}");
    let manifest =
        write(dir.path(), "hostile.toml", "name = \"hostile\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n");
    let up =
        cli.run(&["plugins", "upload", stagebox_guest_artifacts::HOSTILE, "--manifest", manifest.to_str().unwrap()]);
    let up = up.ok();
    assert!(up.starts_with("uploaded hostile 0.1.0 (video-node), disabled"), "{up}");
    let hash = up.trim().rsplit(' ').next().unwrap().to_owned();
    let prefix = &hash[..10];
    assert!(cli.run(&["plugins", "enable", prefix]).ok().starts_with("enabled hostile"));
    assert!(cli.run(&["plugins", "show", prefix]).ok().contains("enabled:      true"));
    assert!(cli.run(&["plugins", "disable", prefix]).ok().starts_with("disabled hostile"));
    let bad = write(dir.path(), "bad.toml", "name = 3\n");
    cli.run(&["plugins", "upload", stagebox_guest_artifacts::HOSTILE, "--manifest", bad.to_str().unwrap()])
        .fails_with("422 Invalid manifest: manifest:");
    let bundled = cli.json(&["plugins", "ls"])["plugins"][0]["hash"].as_str().unwrap().to_owned();
    cli.run(&["plugins", "rm", &bundled]).fails_with("409 Bundled plugin");
    cli.run(&["plugins", "rm", "ffffffffff"]).fails_with("no plugin's hash starts with");
    assert!(cli.run(&["plugins", "rm", prefix]).ok().starts_with(&format!("deleted {hash}")));

    // pipelines: apply (create, then change live), start, ls, show, flows, events, stop, rm.
    let spec = |config: &str| {
        format!(
            r#"{{"name": "cli", "nodes": [
                {{"id": "bars", "type": "test_pattern", "width": 192, "height": 108, "rate": "25"}},
                {{"id": "tc", "type": "video_plugin", "plugin": "timecode", "config": {config}}}],
              "connections": [{{"from": "bars", "to": "tc"}}]}}"#
        )
    };
    let file = write(dir.path(), "cli.json", &spec("{}"));
    assert_eq!(cli.run(&["pipelines", "apply", "-f", file.to_str().unwrap()]).ok().trim(), "created cli");
    // Events: a listener started before the pipeline sees it start.
    let mut listener = cli.command(&["--json", "events", "--count", "1"]).stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(cli.run(&["pipelines", "start", "cli"]).ok().trim(), "started cli: 2 running");
    let deadline = Instant::now() + Duration::from_secs(10);
    while listener.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "events --count 1 did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut line = String::new();
    std::io::Read::read_to_string(&mut listener.stdout.take().unwrap(), &mut line).unwrap();
    let event: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!((event["kind"].as_str(), event["pipeline"].as_str()), (Some("pipeline.started"), Some("cli")));
    std::fs::write(&file, spec(r#"{"source": "index"}"#)).unwrap();
    assert_eq!(cli.run(&["pipelines", "apply", "-f", file.to_str().unwrap()]).ok().trim(), "changed live cli");
    let ls = cli.run(&["pipelines", "ls"]).ok();
    assert!(ls.lines().any(|l| l.starts_with("cli ") && l.contains("yes") && l.contains("2 running")), "{ls}");
    let show = cli.run(&["pipelines", "show", "cli"]).ok();
    assert!(show.contains("NODE") && show.contains("video_plugin (timecode)") && show.contains("cli/tc"), "{show}");
    let flows = cli.json(&["flows", "ls"]);
    let labels: Vec<&str> = flows["flows"].as_array().unwrap().iter().map(|f| f["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["cli/bars", "cli/tc"]);
    assert!(cli.run(&["flows", "ls"]).ok().contains("192x108 v210 25/1"));
    let bad = write(dir.path(), "bad.json", &spec("{}").replace("timecode", "nope"));
    cli.run(&["pipelines", "apply", "-f", bad.to_str().unwrap()])
        .fails_with("422 Invalid pipeline: nodes[1].plugin: no plugin \"nope\"");
    cli.run(&["pipelines", "start", "nobody"]).fails_with("404 Not found: no pipeline \"nobody\"");
    assert_eq!(cli.run(&["pipelines", "stop", "cli"]).ok().trim(), "stopped cli");
    assert_eq!(cli.run(&["pipelines", "rm", "cli"]).ok().trim(), "deleted cli");

    // channels: apply (create, then change), start, add and remove an
    // output live, ls, show, select, stop, rm.
    let input = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let channel = |description: &str| {
        format!(
            r#"{{"name": "tv", "description": "{description}", "inputs": ["rtp://127.0.0.1:{input}"],
                "outputs": [{{"id": "a", "url": "udp://127.0.0.1:9"}}]}}"#
        )
    };
    let file = write(dir.path(), "tv.json", &channel("first"));
    assert_eq!(cli.run(&["channels", "apply", "-f", file.to_str().unwrap()]).ok().trim(), "created tv");
    assert_eq!(cli.run(&["channels", "start", "tv"]).ok().trim(), "started tv");
    let added = cli.run(&["channels", "add-output", "tv", "b", "rtp://127.0.0.1:9", "--pids", "256,257"]).ok();
    assert_eq!(added.trim(), "added live output b to tv");
    cli.run(&["channels", "add-output", "tv", "c", "udp://127.0.0.1:9?tll=1"])
        .fails_with("422 Invalid channel: output.url: unknown parameter \"tll\"");
    let ls = cli.run(&["channels", "ls"]).ok();
    assert!(
        ls.lines().any(|l| l.starts_with("tv ") && l.contains("yes") && l.contains("primary") && l.contains("2/2")),
        "{ls}"
    );
    let show = cli.run(&["channels", "show", "tv"]).ok();
    assert!(
        show.contains("running on the primary") && show.contains("OUTPUT") && show.contains("rtp://127.0.0.1:9"),
        "{show}"
    );
    assert_eq!(cli.json(&["channels", "show", "tv"])["spec"]["outputs"][1]["pids"], serde_json::json!([256, 257]));
    cli.run(&["channels", "select", "tv", "backup"]).fails_with("422 Invalid input: input: the channel has no backup");
    // Timeline markers on the running channel: posted, listed, refused.
    let marked = cli.run(&["channels", "mark", "tv", "Kick-off"]).ok();
    assert!(marked.starts_with("marked tv at ") && marked.trim().ends_with(": Kick-off"), "{marked}");
    let markers = cli.run(&["channels", "markers", "tv"]).ok();
    assert!(markers.starts_with("ID") && markers.contains("api") && markers.contains("Kick-off"), "{markers}");
    assert_eq!(cli.json(&["channels", "markers", "tv"])["markers"][0]["text"], "Kick-off");
    cli.run(&["channels", "mark", "tv", "late", "--at-ms", "1"])
        .fails_with("422 Invalid marker: at_ms: within an hour of now");
    cli.run(&["channels", "markers", "nobody"]).fails_with("404 Not found: no channel \"nobody\" runs");
    assert_eq!(cli.run(&["channels", "rm-output", "tv", "b"]).ok().trim(), "removed output b from tv");
    cli.run(&["channels", "rm-output", "tv", "b"]).fails_with("404 Not found: channel \"tv\" has no output \"b\"");
    std::fs::write(&file, channel("second")).unwrap();
    assert_eq!(cli.run(&["channels", "apply", "-f", file.to_str().unwrap()]).ok().trim(), "changed live tv");
    assert_eq!(cli.run(&["channels", "stop", "tv"]).ok().trim(), "stopped tv");
    assert_eq!(cli.run(&["channels", "rm", "tv"]).ok().trim(), "deleted tv");
    cli.run(&["channels", "start", "tv"]).fails_with("404 Not found: no channel \"tv\"");

    // users and tokens.
    let r = cli.run_with(&["users", "add", "ed", "--role", "viewer", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert_eq!(r.ok().trim(), "made ed (viewer)");
    cli.run_with(&["users", "add", "Bad Name", "--role", "viewer", "--password-stdin"], &format!("{PASSWORD}\n"))
        .fails_with("400 Invalid request: name:");
    assert!(cli.run(&["users", "ls"]).ok().lines().any(|l| l.starts_with("ed ") && l.contains("viewer")));
    let r = cli.run_with(&["users", "passwd", "ed", "--password-stdin"], "another long password\n");
    assert_eq!(r.ok().trim(), "changed ed's password");
    let made = cli.json(&["tokens", "create", "ci", "--expires-hours", "2"]);
    let (secret, id) = (made["token"].as_str().unwrap(), made["id"].as_str().unwrap());
    assert!(secret.starts_with("sbx_"));
    assert!(cli.run(&["tokens", "ls"]).ok().lines().any(|l| l.starts_with(id) && l.contains("ci")));
    assert_eq!(cli.run(&["tokens", "rm", id]).ok().trim(), format!("revoked {id}"));
    cli.run(&["tokens", "rm", id]).fails_with("404");

    // The audit log has all of it, newest last.
    let tail = cli.run(&["audit", "tail", "-n", "3"]).ok();
    assert_eq!(tail.lines().count(), 4, "{tail}");
    assert!(tail.starts_with("SEQ") && tail.lines().last().unwrap().contains("DELETE /api/v1/tokens/"), "{tail}");

    // A viewer is refused what needs an operator, with the API's reason.
    let viewer = Cli { exe: cli.exe.clone(), config: dir.path().join("viewer/cli.toml") };
    let r = viewer.run_with(
        &["login", url, "--user", "ed", "--fingerprint", &daemon.fingerprint, "--password-stdin"],
        "another long password\n",
    );
    assert_eq!(r.code, 0, "{r:?}");
    viewer.run(&["pipelines", "start", "x"]).fails_with("403 Forbidden: this needs the operator role");
    assert!(viewer.run(&["users", "rm", "admin"]).err.contains("403 Forbidden"));
    assert_eq!(cli.run(&["users", "rm", "ed"]).ok().trim(), "deleted ed and their tokens");

    // A real certificate: installed through the CLI; the pinned session
    // then refuses the box, and a login with the CA file works.
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    let cert_file = write(dir.path(), "chain.pem", &format!("{}{}", cert.pem(), ca.pem()));
    let key_file = write(dir.path(), "key.pem", &key.serialize_pem());
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let r = cli.run(&["tls", "install", "--cert", cert_file.to_str().unwrap(), "--key", key_file.to_str().unwrap()]);
    assert!(r.ok().starts_with("installed; the box now presents SHA-256"));
    cli.run(&["status"]).fails_with("the box's certificate changed");
    let localhost = url.replace("127.0.0.1", "localhost");
    let r = cli.run_with(&["login", &localhost, "--ca-file", ca_file.to_str().unwrap(), "--password-stdin"], &password);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(cli.run(&["status"]).ok().contains("version:"));

    // Completions, logout.
    assert!(cli.run(&["completions", "bash"]).ok().contains("stagebox"));
    cli.run(&["logout"]).ok();
    cli.run(&["status"]).fails_with("not logged in");
}
