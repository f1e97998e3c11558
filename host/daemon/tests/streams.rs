//! A distributor channel packaged as live HLS and served by the real
//! daemon: an ffmpeg encoder sends H.264 and AAC over RTP; ffprobe and
//! ffmpeg read what the daemon serves, over HTTPS and over the plain-HTTP
//! streams address; m3u8-rs reads the playlists; headers, CORS and the
//! errors are checked; the output is removed live. And the dashboard's
//! player (hls.js) plays it in headless Chromium
//! (`tests/browser/player.mjs`).

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::{Appliance, browser_script, eventually, root};
use serde_json::json;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PLAYER: &str = "https://player.example";

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A live encoder: 640×360 at 25 fps, a keyframe each second, B-frames,
/// and AAC, as MPEG-TS over RTP to `port`, in real time for `seconds`.
fn encoder(port: u16, seconds: u32) -> Killed {
    let child = Command::new("ffmpeg")
        .args(["-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0"])
        .args(["-bf", "2", "-b:v", "1M", "-c:a", "aac", "-b:a", "96k"])
        .args(["-f", "rtp_mpegts", &format!("rtp://127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

fn header(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

/// `ffprobe`'s streams of `url`, as codec names.
fn probe_codecs(url: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", url])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {url}: {}", String::from_utf8_lossy(&out.stderr));
    let mut codecs: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
    codecs.sort();
    codecs.dedup();
    codecs
}

#[test]
fn a_channel_is_served_as_live_hls() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("stageboxd.toml");
    std::fs::write(&config, format!("streams_http_listen = \"127.0.0.1:0\"\nstreams_cors_origins = [\"{PLAYER}\"]\n"))
        .unwrap();
    let a = Appliance::on(dir, state, &[("STAGEBOX_CONFIG", config.to_str().unwrap())]);
    let plain = a.daemon.streams_url.clone().expect("the daemon printed its plain-HTTP streams address");
    let https = a.daemon.url.clone();

    // A bad HLS URL is refused with the field named.
    let input = free_port();
    let mut spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "hls", "url": "hls://?segment=1&dvr=0" }],
    });
    let (status, e) = a.call("POST", "/api/v1/channels", Some(spec.clone()));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("outputs[0].url: parameter dvr="), "{e}");
    spec["outputs"][0]["url"] = json!("hls://?segment=1&dvr=6");
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);

    // Nothing to play before the first segment.
    let media = format!("{https}/streams/news/hls/index.m3u8");
    let r = a.c.get(&media).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("no segment yet"));
    assert_eq!(a.c.get(format!("{https}/streams/news/master.m3u8")).send().unwrap().status(), 404);

    let _encoder = encoder(input, 30);
    // Six segments of one second each: the window is full.
    let playlist = eventually(Duration::from_secs(25), "six segments", || {
        let r = a.c.get(&media).send().unwrap();
        if r.status() != 200 {
            return None;
        }
        let text = r.bytes().unwrap();
        let Ok(m3u8_rs::Playlist::MediaPlaylist(p)) = m3u8_rs::parse_playlist_res(&text) else {
            panic!("not a media playlist: {}", String::from_utf8_lossy(&text))
        };
        (p.media_sequence >= 1).then_some(p)
    });
    assert_eq!(playlist.segments.len(), 6, "the DVR window: 6 s of 1 s segments");
    assert_eq!(playlist.target_duration, 1);
    assert!(!playlist.end_list);
    let mut last_date = None;
    for s in &playlist.segments {
        // A keyframe each second, so every segment lasts a second.
        assert!((s.duration - 1.0).abs() < 0.05, "{s:?}");
        let date = s.program_date_time.unwrap_or_else(|| panic!("{s:?} has no EXT-X-PROGRAM-DATE-TIME"));
        let date = date.timestamp_millis();
        if let Some(before) = last_date {
            let gap = date - before;
            assert!((500..=1500).contains(&gap), "segments {gap} ms apart");
        }
        last_date = Some(date);
    }

    // Headers: types, caching, CORS for the configured origin only.
    let r = a.c.get(&media).header("Origin", PLAYER).send().unwrap();
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/vnd.apple.mpegurl"));
    assert_eq!(header(&r, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(PLAYER));
    let r = a.c.get(&media).header("Origin", "https://elsewhere.example").send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let r = a.c.get(format!("{https}/health")).header("Origin", PLAYER).send().unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None, "the API's CORS is its own setting");
    let first = &playlist.segments[0].uri;
    let r = a.c.get(format!("{https}/streams/news/hls/{first}")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type").as_deref(), Some("video/mp2t"));
    assert!(header(&r, "cache-control").unwrap().contains("immutable"));
    let bytes = r.bytes().unwrap();
    assert_eq!(bytes.len() % 188, 0);
    assert_eq!(
        (bytes[0], u16::from_be_bytes([bytes[1], bytes[2]]) & 0x1fff),
        (0x47, 0),
        "a segment opens with the PAT"
    );

    // The master playlist names the variant and its bandwidth.
    let r = a.c.get(format!("{https}/streams/news/master.m3u8")).send().unwrap();
    assert_eq!(r.status(), 200);
    let text = r.bytes().unwrap();
    let Ok(m3u8_rs::Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&text) else {
        panic!("not a master playlist: {}", String::from_utf8_lossy(&text))
    };
    assert_eq!(master.variants.len(), 1);
    assert_eq!(master.variants[0].uri, "hls/index.m3u8");
    let bandwidth = master.variants[0].bandwidth;
    assert!((500_000..3_000_000).contains(&bandwidth), "BANDWIDTH={bandwidth} for a 1.1 Mb/s stream");

    // Real readers: ffprobe through HTTPS, ffmpeg decoding 3 s over plain HTTP.
    assert_eq!(probe_codecs(&format!("{https}/streams/news/master.m3u8")), ["aac", "h264"]);
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i", &format!("{plain}/streams/news/master.m3u8")])
        .args(["-t", "3", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "", "decode errors");

    // The plain-HTTP address serves streams and nothing else.
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    assert_eq!(c.get(format!("{plain}/streams/news/hls/index.m3u8")).send().unwrap().status(), 200);
    assert_eq!(c.get(format!("{plain}/api/v1/system")).send().unwrap().status(), 404);
    assert_eq!(c.get(format!("{plain}/health")).send().unwrap().status(), 404);

    // What is not there says so.
    let r = a.c.get(format!("{https}/streams/news/hls/0-0.ts")).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("not in the window"));
    assert_eq!(a.c.get(format!("{https}/streams/weather/master.m3u8")).send().unwrap().status(), 404);

    // Removed live: gone from the server at once.
    a.ok("DELETE", "/api/v1/channels/news/outputs/hls", None);
    let r = a.c.get(&media).send().unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("runs no HLS output"));
}

#[test]
fn a_viewer_plays_the_channel_in_the_dashboard() {
    let a = Appliance::new(&[]);
    let password = "a viewer's long password";
    a.ok("POST", "/api/v1/users", Some(json!({ "name": "viewer", "password": password, "role": "viewer" })));
    let input = free_port();
    let spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "hls", "url": "hls://?segment=1&dvr=10" }],
    });
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    // Long enough for 10 s of playing after the player starts.
    let _encoder = encoder(input, 60);
    let media = format!("{}/streams/news/hls/index.m3u8", a.daemon.url);
    eventually(Duration::from_secs(20), "three segments", || {
        let r = a.c.get(&media).send().unwrap();
        (r.status() == 200 && r.text().unwrap().matches("#EXTINF").count() >= 3).then_some(())
    });
    let shots = root().join("target/screenshots");
    let out = browser_script(
        "player.mjs",
        &[
            ("STAGEBOX_URL", a.daemon.url.as_ref()),
            ("STAGEBOX_USER", "viewer".as_ref()),
            ("STAGEBOX_PASSWORD", password.as_ref()),
            ("STAGEBOX_CHANNEL", "news".as_ref()),
            ("STAGEBOX_OUTPUT", "hls".as_ref()),
            ("STAGEBOX_SCREENSHOTS", shots.as_os_str()),
        ],
        Duration::from_secs(120),
        "player passed",
    );
    println!("{out}");
    assert!(shots.join("dashboard-player.png").metadata().unwrap().len() > 10_000);
}
