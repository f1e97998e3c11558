//! Live pipelines in the real daemon: the demo pipelines on a fresh box
//! (read by `flow-read`, another process, and checked pixel for pixel
//! against the native timecode code; SCTE-35 decisions on the event
//! stream checked against the native policy), hot changes that miss no
//! grain, failing plugins restarted or bypassed while other pipelines run
//! on, and validation that names the bad field.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Appliance, eventually};
use serde_json::{Value, json};
use stagebox_daemon::pipeline::{flow_id, pattern};
use stagebox_flow::{Domain, ReadError};
use std::process::Command;
use std::time::{Duration, Instant};

/// Reads every grain of a flow for `duration` from the next one on, and
/// returns their indices. Fails on a grain that was missed.
fn watch(domain: &Domain, id: uuid::Uuid, duration: Duration) -> Vec<u64> {
    let reader = eventually(Duration::from_secs(10), "the flow to appear", || domain.open_discrete(id).ok());
    let head = eventually(Duration::from_secs(10), "a first grain", || {
        Some(reader.head_index()).filter(|h| *h != stagebox_flow::UNDEFINED_INDEX)
    });
    let (mut next, end) = (head + 1, Instant::now() + duration);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match reader.wait(next, Duration::from_secs(2)) {
            Ok(view) => {
                assert!(!view.is_invalid(), "grain {next} is marked invalid");
                seen.push(next);
                next += 1;
            }
            // A flow that had no grain yet when we looked: start at its first.
            Err(ReadError::TooLate { head, .. }) if seen.is_empty() => next = head,
            Err(e @ ReadError::TooEarly { .. }) => panic!("grain {next} did not come: {e}"),
            Err(e) => panic!("grain {next}: {e}"),
        }
    }
    seen
}

fn pattern_and(plugin_node: Value, name: &str, rate: &str) -> Value {
    json!({
        "name": name,
        "nodes": [
            { "id": "pattern", "type": "test_pattern", "width": 192, "height": 108, "rate": rate },
            plugin_node,
        ],
        "connections": [{ "from": "pattern", "to": "p" }],
    })
}

fn flow_read() -> std::path::PathBuf {
    common::workspace_bin("flow-read")
}

#[test]
fn the_demo_pipelines_run_on_a_fresh_box() {
    let flow_read = flow_read();
    let b = Appliance::new(&[("STAGEBOX_DEMO_PIPELINES", "true")]);
    let mut events = b.events();
    let list = b.ok("GET", "/api/v1/pipelines", None);
    let names: Vec<&str> = list["pipelines"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["demo-scte35", "demo-timecode"]);
    assert!(list["pipelines"].as_array().unwrap().iter().all(|p| p["running"] == true));

    // Another process reads the timecode flow by its label.
    let out = Command::new(flow_read)
        .arg("--domain")
        .arg(b.daemon.domain.path())
        .args(["--id", "demo-timecode/timecode", "--count", "10", "--timeout-ms", "5000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let indices: Vec<u64> = text
        .lines()
        .map(|l| {
            assert!(l.ends_with("intact true"), "{l}");
            l.split_whitespace().nth(1).unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(indices.len(), 10, "{text}");
    assert!(indices.windows(2).all(|w| w[1] == w[0] + 1), "{text}");

    // The frame is the pattern with the time of day burnt in, exactly as
    // the native timecode code draws it.
    let domain = b.domain();
    let reader = domain.open_discrete(flow_id("demo-timecode", "timecode")).unwrap();
    // A grain the plugin processed (under heavy load one may be marked
    // invalid while the node restarts; the status would say so).
    let view = eventually(Duration::from_secs(5), "a valid grain", || reader.latest().ok().filter(|v| !v.is_invalid()));
    let got = view.payload().to_vec();
    view.check().unwrap();
    let (w, h) = (1280, 720);
    let bars = stagebox_flow::pattern::v210_bars(w, h);
    let mut want = vec![0u8; bars.len()];
    pattern::frame(&bars, w, h, view.index(), &mut want);
    let untouched = want.clone();
    let config = stagebox_media::timecode::BurnConfig::from_json("{}").unwrap();
    let counting = stagebox_media::timecode::Counting::new(25, 1, config.drop_frame).unwrap();
    let label = config.label(&counting, view.index(), view.timestamp_tai_ns()).to_string();
    let stride = stagebox_flow::pattern::v210_line_bytes(w);
    let mut frame = stagebox_media::timecode::Frame {
        data: &mut want,
        layout: stagebox_media::timecode::Layout::V210,
        width: w as usize,
        height: h as usize,
        stride,
    };
    stagebox_media::timecode::burn_text(&mut frame, &label, config.placement()).unwrap();
    assert_ne!(want, untouched, "the label draws something");
    assert!(got == want, "grain {} is not the pattern with {label} burnt in", view.index());

    // SCTE-35: each decision on the event stream is what the native policy
    // decides for that section at that time.
    let e = events.wait("scte35.decision", Duration::from_secs(10), |_| true);
    assert_eq!((e["pipeline"].as_str(), e["node"].as_str()), (Some("demo-scte35"), Some("policy")));
    let index = e["data"]["index"].as_u64().unwrap();
    let rate = stagebox_flow::Rational::new(1, 2).unwrap();
    let ts = stagebox_flow::index_to_timestamp(index, rate);
    let specs = stagebox_daemon::pipelines::demo_specs();
    let stagebox_daemon::pipeline::spec::NodeSpec::Scte35Source { sections, .. } = &specs[1].nodes[0] else {
        panic!("the demo's first node is the cue source")
    };
    let section = stagebox_media::scte35::decode_text(&sections[(index % 2) as usize]).unwrap();
    let policy = stagebox_media::scte35::policy::Policy::from_json(r#"{"hls":["daterange"]}"#).unwrap();
    let ctx = stagebox_media::scte35::policy::StreamContext {
        pts: stagebox_media::ts::ns_to_ticks(ts) % stagebox_media::ts::WRAP,
        wall_clock_tai_ns: ts,
    };
    let native = policy.on_section(&section, &ctx).unwrap();
    let lines: Vec<&str> =
        e["data"]["hls_tags"].as_array().unwrap().iter().map(|t| t["line"].as_str().unwrap()).collect();
    let want: Vec<&str> = native.hls_tags.iter().map(|t| t.line.as_str()).collect();
    assert!(!want.is_empty());
    assert_eq!(lines, want);
    assert_eq!(e["data"]["decision"], "pass");
    assert_eq!(e["data"]["splice_points"].as_array().unwrap().len(), native.splice_points.len());

    // The flows resource lists both demo flows of each pipeline, live.
    let flows = b.ok("GET", "/api/v1/flows", None);
    let labels: Vec<&str> = flows["flows"].as_array().unwrap().iter().map(|f| f["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["demo-scte35/cues", "demo-scte35/policy", "demo-timecode/pattern", "demo-timecode/timecode"]);
    for f in flows["flows"].as_array().unwrap() {
        assert_eq!(f["writer_active"], true, "{f}");
        assert!(f["grains_written"].as_u64().unwrap() >= 1, "{f}");
    }
}

#[test]
fn hot_changes_miss_no_grain_downstream_of_the_nodes_left_alone() {
    let b = Appliance::new(&[]);
    let mut events = b.events();
    let timecode = json!({ "id": "p", "type": "video_plugin", "plugin": "timecode" });
    for name in ["main", "other"] {
        b.ok("POST", "/api/v1/pipelines", Some(pattern_and(timecode.clone(), name, "50/1")));
        b.ok("POST", &format!("/api/v1/pipelines/{name}/start"), None);
    }
    let domain = b.domain();
    let (main, other) = (flow_id("main", "p"), flow_id("other", "p"));
    let watchers: Vec<_> = [main, other]
        .into_iter()
        .map(|id| {
            let d = domain.clone();
            std::thread::spawn(move || watch(&d, id, Duration::from_secs(4)))
        })
        .collect();
    // Wait for both readers to have started on a live flow.
    std::thread::sleep(Duration::from_millis(300));

    // Add a branch, change it, then remove it: three live changes.
    let mut spec = pattern_and(timecode.clone(), "main", "50/1");
    spec["nodes"].as_array_mut().unwrap().push(json!({ "id": "branch", "type": "video_plugin", "plugin": "timecode" }));
    spec["connections"].as_array_mut().unwrap().push(json!({ "from": "pattern", "to": "branch" }));
    b.ok("PUT", "/api/v1/pipelines/main", Some(spec.clone()));
    let e = events.wait("pipeline.updated", Duration::from_secs(5), |e| e["pipeline"] == "main");
    assert_eq!(e["data"]["kept"], json!(["pattern", "p"]));
    let branch = flow_id("main", "branch");
    let grains = watch(&domain, branch, Duration::from_millis(300));
    assert!(grains.len() >= 10, "the new branch runs: {grains:?}");
    spec["nodes"][2]["config"] = json!({ "source": "index" });
    b.ok("PUT", "/api/v1/pipelines/main", Some(spec));
    let e = events.wait("pipeline.updated", Duration::from_secs(5), |e| e["pipeline"] == "main");
    assert_eq!(e["data"]["kept"], json!(["pattern", "p"]));
    std::thread::sleep(Duration::from_millis(300));
    b.ok("PUT", "/api/v1/pipelines/main", Some(pattern_and(timecode, "main", "50/1")));
    eventually(Duration::from_secs(5), "the branch's flow to go", || {
        domain.open_discrete(branch).is_err().then_some(())
    });

    for (w, name) in watchers.into_iter().zip(["main", "other"]) {
        let seen = w.join().unwrap();
        // 4 s at 50 frames a second, every one of them, in order.
        assert!(seen.len() >= 190, "{name}: {} grains", seen.len());
        assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{name}: a grain was missed");
    }
    let status = b.node_status("main", "p");
    assert_eq!((status["state"].as_str(), status["missed_in"].as_u64()), (Some("running"), Some(0)), "{status}");
    assert!(b.node_status("main", "branch").is_null());
}

/// Uploads the hostile test plugin (this box accepts unsigned plugins) and
/// enables it.
fn hostile(b: &Appliance) {
    let wasm = std::fs::read(stagebox_guest_artifacts::HOSTILE).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("manifest", "name = \"hostile\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n")
        .part("component", reqwest::blocking::multipart::Part::bytes(wasm).file_name("hostile.wasm"));
    let r = b.c.post(format!("{}/api/v1/plugins", b.daemon.url)).bearer_auth(&b.token).multipart(form).send().unwrap();
    assert_eq!(r.status(), 201);
    let hash = r.json::<Value>().unwrap()["hash"].as_str().unwrap().to_owned();
    b.ok("POST", &format!("/api/v1/plugins/{hash}/enable"), None);
}

fn unsigned_box() -> Appliance {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stageboxd.toml");
    std::fs::write(&config, "allow_unsigned_plugins = true\n").unwrap();
    let state = dir.path().join("state");
    let config = config.to_str().unwrap().to_owned();
    Appliance::on(dir, state, &[("STAGEBOX_CONFIG", &config)])
}

#[test]
fn failing_plugins_restart_or_are_bypassed_and_other_pipelines_run_on() {
    let b = unsigned_box();
    hostile(&b);
    let mut events = b.events();
    let good = json!({ "id": "p", "type": "video_plugin", "plugin": "timecode" });
    let crashy = json!({
        "id": "p", "type": "video_plugin", "plugin": "hostile",
        "config": { "trap_every": 8 }, "on_failure": "restart",
    });
    let spinny = json!({
        "id": "p", "type": "video_plugin", "plugin": "hostile",
        "config": { "spin_every": 4 }, "on_failure": "bypass",
    });
    for (name, node) in [("good", good), ("crashy", crashy), ("spinny", spinny)] {
        b.ok("POST", "/api/v1/pipelines", Some(pattern_and(node, name, "25/1")));
        b.ok("POST", &format!("/api/v1/pipelines/{name}/start"), None);
    }
    let domain = b.domain();
    let d = domain.clone();
    let good_watch = std::thread::spawn(move || watch(&d, flow_id("good", "p"), Duration::from_secs(3)));

    // Restart: every instance traps on its 8th frame; the node backs off,
    // marks those grains invalid, and a fresh instance carries on.
    let failed = events.wait("node.failed", Duration::from_secs(10), |e| e["pipeline"] == "crashy");
    assert_eq!(failed["data"]["kind"], "trap");
    assert!(failed["data"]["error"].as_str().unwrap().contains("hostile plugin traps"), "{failed}");
    events.wait("node.restarted", Duration::from_secs(10), |e| e["pipeline"] == "crashy");
    let s = eventually(Duration::from_secs(10), "a second failure", || {
        let s = b.node_status("crashy", "p");
        (s["failures"].as_u64() >= Some(2)).then_some(s)
    });
    assert!(s["restarts"].as_u64() >= Some(1) && s["invalid_out"].as_u64() >= Some(1), "{s}");
    assert!(s["grains_out"].as_u64() >= Some(7), "{s}");

    // Bypass: the 4th frame spins past its deadline; from then on the
    // input passes through untouched.
    let bypassed = events.wait("node.bypassed", Duration::from_secs(10), |e| e["pipeline"] == "spinny");
    assert_eq!(bypassed["data"]["kind"], "timeout");
    let s = b.node_status("spinny", "p");
    assert_eq!((s["state"].as_str(), s["failures"].as_u64()), (Some("bypassed"), Some(1)), "{s}");
    let reader = domain.open_discrete(flow_id("spinny", "p")).unwrap();
    let view = eventually(Duration::from_secs(5), "a bypassed grain", || {
        reader.latest().ok().filter(|v| v.index() > bypassed["data"]["index"].as_u64().unwrap())
    });
    let bars = stagebox_flow::pattern::v210_bars(192, 108);
    let mut want = vec![0u8; bars.len()];
    pattern::frame(&bars, 192, 108, view.index(), &mut want);
    assert!(view.payload() == want.as_slice(), "a bypassed grain is the input");
    view.check().unwrap();

    // The pipeline beside them lost nothing.
    let seen = good_watch.join().unwrap();
    assert!(seen.len() >= 70 && seen.windows(2).all(|w| w[1] == w[0] + 1), "good: {seen:?}");
    assert_eq!(b.node_status("good", "p")["failures"], 0);

    // The flows show the drops: invalid grains written while backing off.
    let flows = b.ok("GET", "/api/v1/flows", None);
    let crashy_flow = flows["flows"].as_array().unwrap().iter().find(|f| f["label"] == "crashy/p").unwrap();
    assert!(crashy_flow["grains_invalid"].as_u64() >= Some(1), "{crashy_flow}");
    let good_flow = flows["flows"].as_array().unwrap().iter().find(|f| f["label"] == "good/p").unwrap();
    assert_eq!((good_flow["grains_invalid"].as_u64(), good_flow["missed_by_readers"].as_u64()), (Some(0), Some(0)));

    // Metrics and the audit log show the failures.
    let metrics = b.c.get(format!("{}/metrics", b.daemon.url)).bearer_auth(&b.token).send().unwrap().text().unwrap();
    let value = |line: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("{line} in\n{metrics}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(value("stagebox_node_failures_total{pipeline=\"crashy\",node=\"p\"}") >= 2.0);
    assert_eq!(value("stagebox_node_failures_total{pipeline=\"good\",node=\"p\"}"), 0.0);
    assert_eq!(value("stagebox_node_up{pipeline=\"spinny\",node=\"p\"}"), 0.0);
    assert_eq!(value("stagebox_node_up{pipeline=\"good\",node=\"p\"}"), 1.0);
    let audit = b.ok("GET", "/api/v1/audit?limit=1000", None);
    let what: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["who"] == "stageboxd")
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert!(what.iter().any(|w| w.starts_with("node.failed crashy/p: plugin trapped")), "{what:?}");
    assert!(what.iter().any(|w| w.starts_with("node.bypassed spinny/p: plugin ran past")), "{what:?}");
}

#[test]
fn pipelines_are_checked_kept_and_resumed() {
    let b = unsigned_box();
    let detail = |status: u16, v: &Value| format!("{status} {}", v["detail"].as_str().unwrap_or_default());
    let post = |spec: Value| {
        let (s, v) = b.call("POST", "/api/v1/pipelines", Some(spec));
        detail(s, &v)
    };
    let plugin =
        |name: &str, config: Value| json!({ "id": "p", "type": "video_plugin", "plugin": name, "config": config });
    assert!(
        post(pattern_and(plugin("nope", json!({})), "x", "25")).starts_with("422 nodes[1].plugin: no plugin \"nope\"")
    );
    let e = post(pattern_and(plugin("scte35", json!({})), "x", "25"));
    assert!(e.starts_with("422 nodes[1].plugin: \"scte35\" is a scte35-policy plugin"), "{e}");
    let e = post(pattern_and(plugin("timecode", json!({ "scale": "huge" })), "x", "25"));
    assert!(e.starts_with("422 nodes[1].config: plugin error (invalid-config)"), "{e}");
    let e = post(pattern_and(plugin("timecode", json!({})), "x", "1000"));
    assert!(e.starts_with("422 nodes[0].rate:"), "{e}");
    let mut extra = pattern_and(plugin("timecode", json!({})), "x", "25");
    extra["nodes"][0]["colour"] = json!("red");
    let e = post(extra);
    assert!(e.starts_with("400 nodes[0]") && e.contains("colour"), "{e}");
    // An uploaded plugin must be enabled to be used.
    let wasm = std::fs::read(stagebox_guest_artifacts::HOSTILE).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("manifest", "name = \"hostile\"\nversion = \"0.1.0\"\nworld = \"video-node\"\n")
        .part("component", reqwest::blocking::multipart::Part::bytes(wasm).file_name("h.wasm"));
    let r = b.c.post(format!("{}/api/v1/plugins", b.daemon.url)).bearer_auth(&b.token).multipart(form).send().unwrap();
    assert_eq!(r.status(), 201);
    let e = post(pattern_and(plugin("hostile", json!({})), "x", "25"));
    assert!(e.starts_with("422 nodes[1].plugin: plugin \"hostile\" is disabled"), "{e}");
    // Nothing was kept.
    assert_eq!(b.ok("GET", "/api/v1/pipelines", None)["pipelines"], json!([]));

    // Bundled plugins are listed, and are not the admin's to delete.
    let plugins = b.ok("GET", "/api/v1/plugins", None);
    let bundled: Vec<&Value> = plugins["plugins"].as_array().unwrap().iter().filter(|p| p["bundled"] == true).collect();
    let names: Vec<&str> = bundled.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["captions", "loudness", "scte35", "timecode"]);
    let hash = bundled[3]["hash"].as_str().unwrap();
    assert_eq!(b.call("DELETE", &format!("/api/v1/plugins/{hash}"), None).0, 409);

    // Made, conflicting, renamed, started, kept across kill -9, deleted.
    let spec = pattern_and(plugin("timecode", json!({})), "keep", "25");
    assert_eq!(b.call("POST", "/api/v1/pipelines", Some(spec.clone())).0, 201);
    assert_eq!(b.call("POST", "/api/v1/pipelines", Some(spec.clone())).0, 409);
    let mut renamed = spec.clone();
    renamed["name"] = json!("other");
    let (s, v) = b.call("PUT", "/api/v1/pipelines/keep", Some(renamed.clone()));
    assert!(detail(s, &v).starts_with("400 name:"));
    assert_eq!(b.call("PUT", "/api/v1/pipelines/other", Some(renamed)).0, 404);
    assert_eq!(b.call("POST", "/api/v1/pipelines/nobody/start", None).0, 404);
    let started = b.ok("POST", "/api/v1/pipelines/keep/start", None);
    assert_eq!((started["running"].as_bool(), started["autostart"].as_bool()), (Some(true), Some(true)));
    let Appliance { _dir: dir, state, daemon, .. } = b;
    daemon.kill9();
    let b = Appliance::on(dir, state, &[]);
    let kept = b.ok("GET", "/api/v1/pipelines/keep", None);
    assert_eq!(kept["running"], true, "started again after kill -9: {kept}");
    watch(&b.domain(), flow_id("keep", "p"), Duration::from_millis(200));
    let stopped = b.ok("POST", "/api/v1/pipelines/keep/stop", None);
    assert_eq!((stopped["running"].as_bool(), stopped["nodes"].is_null()), (Some(false), true));
    eventually(Duration::from_secs(5), "the flows to go", || {
        b.domain().open_discrete(flow_id("keep", "p")).is_err().then_some(())
    });
    assert_eq!(b.call("DELETE", "/api/v1/pipelines/keep", None).0, 204);
    assert_eq!(b.call("GET", "/api/v1/pipelines/keep", None).0, 404);
}
