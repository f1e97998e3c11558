//! A distributor channel packaged as live HLS and served by the real
//! daemon: an ffmpeg encoder sends H.264 and AAC over RTP; ffprobe and
//! ffmpeg read what the daemon serves, over HTTPS and over the plain-HTTP
//! streams address; m3u8-rs reads the playlists; headers, CORS and the
//! errors are checked; the output is removed live. And the dashboard's
//! player (hls.js) plays it in headless Chromium
//! (`tests/browser/player.mjs`). SCTE-35 cues come out as playlist tags in
//! each output's dialect, made by the bundled SCTE-35 plugin, at segments
//! that start on their splice points; threefive decodes them. A CMAF
//! output is served as HLS fMP4 and DASH: ffprobe reads both, dash.js and
//! hls.js play them in Chromium (`tests/browser/players.mjs`), and the
//! cues are MPD events at their splice points.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;
#[path = "../../io/tests/support/mod.rs"]
mod io_support;

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
    // The encoder's x264 High profile (yuv420p from testsrc2) at level 3.0
    // for 640×360, and AAC LC.
    assert_eq!(master.variants[0].codecs.as_deref(), Some("avc1.64001e,mp4a.40.2"));
    let resolution = master.variants[0].resolution.as_ref().map(|r| (r.width, r.height));
    assert_eq!(resolution, Some((640, 360)));
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

    // Timeline markers: one posted two seconds back, found on the HLS
    // output's timeline; bad ones refused with the field named.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let made = a.ok("POST", "/api/v1/channels/news/markers", Some(json!({ "text": "Kick-off", "at_ms": now - 2000 })));
    assert_eq!(
        (made["id"].as_u64(), made["source"].as_str(), made["by"].as_str()),
        (Some(1), Some("api"), Some("admin"))
    );
    let listed = a.ok("GET", "/api/v1/channels/news/markers", None);
    let marker = &listed["markers"][0];
    assert_eq!(marker["at_ms"].as_i64(), Some(now - 2000));
    assert!(marker["at"].as_str().unwrap().ends_with('Z'), "{marker}");
    // Player time: where that date falls among the segments listed.
    let player = marker["player_s"]["hls"].as_f64().unwrap_or_else(|| panic!("{marker}"));
    let latest = a.c.get(&media).send().unwrap().bytes().unwrap();
    let Ok(m3u8_rs::Playlist::MediaPlaylist(p)) = m3u8_rs::parse_playlist_res(&latest) else { panic!() };
    let mut start = 0.0;
    let expected = p.segments.iter().enumerate().find_map(|(i, s)| {
        let date = s.program_date_time.unwrap().timestamp_millis();
        let into = (now - 2000 - date) as f64 / 1000.0;
        let at = (p.media_sequence as usize + i) as f64; // 1 s segments
        start = at;
        (0.0..f64::from(s.duration)).contains(&into).then_some(at + into)
    });
    assert!(start > 0.0);
    let expected = expected.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&latest)));
    assert!((player - expected).abs() < 0.05, "player_s {player}, from the playlist {expected}");
    for (body, says) in [
        (json!({ "text": "" }), "text: 1 to 200 characters"),
        (json!({ "text": "x", "at_ms": now - 7_200_000 }), "at_ms: within an hour of now"),
        (json!({ "text": "x", "when": 1 }), "unknown field"),
    ] {
        let (status, e) = a.call("POST", "/api/v1/channels/news/markers", Some(body));
        assert!(matches!(status, 400 | 422), "{e}");
        assert!(e["detail"].as_str().unwrap().contains(says), "{e}");
    }

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
        "outputs": [{ "id": "hls", "url": "hls://?segment=1&dvr=60" }],
    });
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    // Long enough for 10 s of playing after the player starts, and a seek.
    let _encoder = encoder(input, 60);
    let media = format!("{}/streams/news/hls/index.m3u8", a.daemon.url);
    eventually(Duration::from_secs(20), "three segments", || {
        let r = a.c.get(&media).send().unwrap();
        (r.status() == 200 && r.text().unwrap().matches("#EXTINF").count() >= 3).then_some(())
    });
    // A marker a second back, for the player to seek to.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    a.ok("POST", "/api/v1/channels/news/markers", Some(json!({ "text": "Kick-off", "at_ms": now - 1000 })));
    let marker_ms = (now - 1000).to_string();
    let shots = root().join("target/screenshots");
    let out = browser_script(
        "player.mjs",
        &[
            ("STAGEBOX_URL", a.daemon.url.as_ref()),
            ("STAGEBOX_USER", "viewer".as_ref()),
            ("STAGEBOX_PASSWORD", password.as_ref()),
            ("STAGEBOX_CHANNEL", "news".as_ref()),
            ("STAGEBOX_OUTPUT", "hls".as_ref()),
            ("STAGEBOX_MARKER_TEXT", "Kick-off".as_ref()),
            ("STAGEBOX_MARKER_MS", marker_ms.as_ref()),
            ("STAGEBOX_SCREENSHOTS", shots.as_os_str()),
        ],
        Duration::from_secs(120),
        "player passed",
    );
    println!("{out}");
    assert!(shots.join("dashboard-player.png").metadata().unwrap().len() > 10_000);
}

/// A splice_info_section from the ANSI/SCTE 35 §14 example `example`
/// (base64), with its pts_adjustment set so its splice point falls at
/// `pts`.
fn cue_at(example: &str, pts: u64) -> Vec<u8> {
    use stagebox_media::scte35::SpliceInfoSection;
    use stagebox_media::scte35::policy::{StreamContext, splice_points};
    let mut section = SpliceInfoSection::from_text(example).unwrap();
    let at = splice_points(&section, &StreamContext { pts: 0, wall_clock_tai_ns: 0 })[0].pts;
    section.pts_adjustment = (section.pts_adjustment + pts + (1 << 33) - at) % (1 << 33);
    section.to_bytes().unwrap()
}

/// Milliseconds since 1970 of `2026-11-24T23:05:37.112Z`.
fn date_ms(text: &str) -> i64 {
    let p = m3u8_rs::parse_media_playlist_res(
        format!("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-PROGRAM-DATE-TIME:{text}\n#EXTINF:1,\na.ts\n").as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{text}: {e:?}"));
    p.segments[0].program_date_time.unwrap().timestamp_millis()
}

/// The segments of a media playlist, each with the tag lines before it
/// (other than the playlist's own) and where it starts in the stream (the
/// sum of the durations before it).
fn tagged_segments(text: &str) -> Vec<(f64, Vec<String>)> {
    let (mut out, mut tags, mut at, mut duration) = (Vec::new(), Vec::new(), 0.0, 0.0);
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = d.trim_end_matches(',').parse::<f64>().unwrap();
        } else if line.starts_with("#EXT-X-DATERANGE") || line.starts_with("#EXT-X-CUE") {
            tags.push(line.to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push((at, std::mem::take(&mut tags)));
            at += duration;
        }
    }
    out
}

#[test]
fn cues_become_playlist_tags_at_their_splice_points() {
    let dir = tempfile::tempdir().unwrap();
    // 12 s with a keyframe each second and three cues, put in at 3, 6 and
    // 9 s of the stream: a splice_insert out (§14.2) at the keyframe at
    // 4 s, a placement opportunity start (§14.1) at 7 s, and an end
    // (§14.3) whose splice point is long past, so immediate.
    let examples: Vec<&str> = ["14.2", "14.1", "14.3"].iter().map(|n| io_support::spec_example(n)).collect();
    let source = io_support::source_with(dir.path(), "testsrc", 12, |ts| {
        let first = io_support::first_video_pts(ts);
        [4, 7, -100]
            .iter()
            .zip(&examples)
            .map(|(s, e)| cue_at(e, (first as i64 + s * 90_000).rem_euclid(1 << 33) as u64))
            .collect()
    });
    let a = Appliance::new(&[]);
    let input = free_port();
    let output = |id: &str, dialect: &str| {
        json!({ "id": id, "url": "hls://?segment=2&dvr=60",
                "scte35": { "plugin": "scte35", "config": { "hls": [dialect] } } })
    };
    let spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [output("daterange", "daterange"), output("cues", "cue_out_in")],
    });
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = io_support::send_rtp(source.ts.clone(), format!("127.0.0.1:{input}").parse().unwrap(), stop);
    sent.join().unwrap();
    let playlist = |output: &str| {
        let r = a.c.get(format!("{}/streams/news/{output}/index.m3u8", a.daemon.url)).send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    // Segments of 2 s, but cut at the splice points at 4 s (a keyframe the
    // target would have cut at anyway) and 7 s; the immediate cue goes
    // before the segment after the one open when it came (at 9 s of the
    // stream: the one from 7 s was open, so the one from 9 s).
    let daterange = tagged_segments(&playlist("daterange"));
    let starts: Vec<f64> = daterange.iter().map(|(at, _)| (at * 10.0).round() / 10.0).collect();
    assert_eq!(&starts[..6], [0.0, 2.0, 4.0, 6.0, 7.0, 9.0], "{daterange:?}");
    let tagged: Vec<(f64, usize)> =
        daterange.iter().filter(|(_, t)| !t.is_empty()).map(|(at, t)| ((at * 10.0).round() / 10.0, t.len())).collect();
    assert_eq!(tagged, [(4.0, 1), (7.0, 1), (9.0, 1)], "{daterange:?}");
    // threefive reads each tag's section back: the bytes sent, in order.
    let hex: Vec<String> = daterange
        .iter()
        .flat_map(|(_, t)| t.iter())
        .map(|l| l.split_once("=0x").map(|(_, h)| format!("0x{h}")).unwrap_or_else(|| panic!("no section in {l}")))
        .collect();
    assert!(daterange[2].1[0].contains("SCTE35-OUT=0x"), "{:?}", daterange[2]);
    // The splice's date is the date of the segment that starts there (both
    // from arrival times: within the network's and the muxer's jitter).
    let text = playlist("daterange");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains("SCTE35-OUT")).unwrap();
    let date = |l: &str, key: &str| {
        let v = l.split(key).nth(1).unwrap().trim_matches('"');
        let v = &v[..v.find(['"', ',']).unwrap_or(v.len())];
        date_ms(v)
    };
    let start = date(lines[at], "START-DATE=\"");
    let segment = date(lines[at + 1], "#EXT-X-PROGRAM-DATE-TIME:");
    assert!((start - segment).abs() < 200, "START-DATE {start} ms, segment {segment} ms: {}", lines[at]);
    let decoded = io_support::threefive_decode(&hex.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(decoded.iter().map(|(b, _)| b.clone()).collect::<Vec<_>>(), source.cues);
    assert_eq!(decoded.iter().map(|(_, c)| *c).collect::<Vec<_>>(), [5, 6, 6], "splice_insert, time_signal ×2");
    // The other output's dialect: CUE-OUT (with the break's duration),
    // CUE-OUT-CONT on the segment inside the break (with the section as
    // sent), the second break's CUE-OUT, and CUE-IN.
    let cues = tagged_segments(&playlist("cues"));
    let tagged: Vec<(f64, Vec<String>)> =
        cues.into_iter().filter(|(_, t)| !t.is_empty()).map(|(at, t)| ((at * 10.0).round() / 10.0, t)).collect();
    let at: Vec<f64> = tagged.iter().map(|(at, _)| *at).collect();
    assert_eq!(at, [4.0, 6.0, 7.0, 9.0], "{tagged:?}");
    assert_eq!(tagged[0].1, ["#EXT-X-CUE-OUT:DURATION=60.293"], "{tagged:?}");
    let cont = &tagged[1].1[0];
    assert!(cont.starts_with("#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=60.293,SCTE35="), "{cont}");
    let b64 = cont.split_once("SCTE35=").unwrap().1;
    let decoded = io_support::threefive_decode(&[b64]);
    assert_eq!(decoded[0].0, source.cues[0], "the CONT line carries the break's section");
    assert_eq!(tagged[2].1, ["#EXT-X-CUE-OUT:DURATION=307.000"], "{tagged:?}");
    assert_eq!(tagged[3].1, ["#EXT-X-CUE-IN"], "{tagged:?}");
    // Each splice point is a timeline marker, once though two outputs'
    // plugins saw it, on both outputs' timelines where its segment starts;
    // the one long past is before either window.
    let markers = a.ok("GET", "/api/v1/channels/news/markers", None);
    let markers = markers["markers"].as_array().unwrap();
    let texts: Vec<&str> = markers.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].starts_with("SCTE-35 out, event ") && texts[0].ends_with(", 60.3 s"), "{texts:?}");
    assert!(texts[2].starts_with("SCTE-35 in, event "), "{texts:?}");
    for (m, at) in markers.iter().zip([Some(4.0), Some(7.0), None]) {
        assert_eq!(m["source"], "scte35");
        for output in ["daterange", "cues"] {
            let player = m["player_s"][output].as_f64();
            match at {
                Some(at) => assert!(player.is_some_and(|p| (p - at).abs() < 0.3), "{output} {m}"),
                None => assert_eq!(player, None, "{output} {m}"),
            }
        }
    }
}

/// What a player must show of a stream (see `tests/browser/players.mjs`).
struct Expect {
    /// `WIDTHxHEIGHT`.
    size: &'static str,
    /// SCTE-35 events dash.js must hand the page, at least.
    events: usize,
    /// The stream has audio, which must be decoded.
    audio: bool,
    /// Caption cues that must reach the video's text tracks, at least.
    captions: usize,
    /// hls.js moves to the next rendition every 2.5 s.
    switch: bool,
    /// hls.js in its low-latency mode, at most this many seconds from the
    /// live edge.
    max_latency: Option<f64>,
}

/// `player` (`dash` or `hls`) plays channel news's `stream` in Chromium
/// for 10 s of media, as `expect` says; what it saw, as JSON.
fn play(a: &Appliance, player: &str, stream: &str, expect: &Expect) -> serde_json::Value {
    let (events, captions) = (expect.events.to_string(), expect.captions.to_string());
    let latency = expect.max_latency.map(|l| l.to_string());
    let out = browser_script(
        "players.mjs",
        &[
            ("STAGEBOX_URL", a.daemon.url.as_ref()),
            ("STAGEBOX_STREAM", format!("/streams/news/{stream}").as_ref()),
            ("STAGEBOX_PLAYER", player.as_ref()),
            ("STAGEBOX_SIZE", expect.size.as_ref()),
            ("STAGEBOX_EVENTS", events.as_ref()),
            ("STAGEBOX_AUDIO", if expect.audio { "1" } else { "0" }.as_ref()),
            ("STAGEBOX_CAPTIONS", captions.as_ref()),
            ("STAGEBOX_SWITCH", if expect.switch { "1" } else { "0" }.as_ref()),
        ]
        .into_iter()
        .chain(latency.as_ref().map(|l| ("STAGEBOX_MAX_LATENCY", l.as_ref())))
        .collect::<Vec<_>>(),
        Duration::from_secs(90),
        "players passed",
    );
    println!("{player}: {out}");
    let result = out.lines().find_map(|l| l.strip_prefix("result ")).unwrap();
    serde_json::from_str(result).unwrap()
}

/// A DASH manifest's element `name`s (no namespace), anywhere.
fn elements<'a>(doc: &'a roxmltree::Document<'_>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.tag_name().name() == name).collect()
}

fn number(node: roxmltree::Node<'_, '_>, attribute: &str) -> u64 {
    node.attribute(attribute).unwrap_or_else(|| panic!("no {attribute} on {node:?}")).parse().unwrap()
}

#[test]
fn a_channel_is_served_as_cmaf_hls_and_dash() {
    let dir = tempfile::tempdir().unwrap();
    // 50 s with a keyframe each second and two cues, put in at about 17
    // and 33 s: a splice_insert out (§14.2) at the keyframe at 20 s and a
    // placement opportunity start (§14.1) at 36 s.
    let examples: Vec<&str> = ["14.2", "14.1"].iter().map(|n| io_support::spec_example(n)).collect();
    let first = std::cell::Cell::new(0);
    let source = io_support::source_with(dir.path(), "testsrc", 50, |ts| {
        first.set(io_support::first_video_pts(ts));
        [20, 36].iter().zip(&examples).map(|(s, e)| cue_at(e, (first.get() + s * 90_000) % (1 << 33))).collect()
    });
    let a = Appliance::new(&[]);
    let input = free_port();
    let plugin = json!({ "plugin": "scte35",
                         "config": { "hls": ["daterange"], "dash": ["urn:scte:scte35:2014:xml+bin"] } });
    let spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "cmaf", "url": "hls://?segment=2&dvr=60&container=cmaf", "scte35": plugin }],
    });
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    let base = format!("{}/streams/news", a.daemon.url);
    assert_eq!(a.c.get(format!("{base}/manifest.mpd")).send().unwrap().status(), 404, "nothing before a segment");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = io_support::send_rtp(source.ts.clone(), format!("127.0.0.1:{input}").parse().unwrap(), stop.clone());
    let get = |path: &str| {
        let r = a.c.get(format!("{base}/{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let kind = header(&r, "content-type").unwrap();
        (kind, r.bytes().unwrap())
    };
    eventually(Duration::from_secs(20), "three video segments", || {
        let r = a.c.get(format!("{base}/cmaf/index.m3u8")).send().unwrap();
        (r.status() == 200 && r.text().unwrap().matches("#EXTINF").count() >= 3).then_some(())
    });

    // HLS: fMP4 media playlists with their init segments, an audio group.
    let (kind, master) = get("master.m3u8");
    assert_eq!(kind, "application/vnd.apple.mpegurl");
    let Ok(m3u8_rs::Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&master) else {
        panic!("not a master playlist: {}", String::from_utf8_lossy(&master))
    };
    assert_eq!(master.alternatives.len(), 1, "{master:?}");
    let audio = &master.alternatives[0];
    assert_eq!(
        (audio.media_type.to_string(), audio.group_id.as_str(), audio.uri.as_deref(), audio.default),
        ("AUDIO".to_owned(), "audio", Some("cmaf/audio.m3u8"), true)
    );
    let variant = &master.variants[0];
    assert_eq!((variant.uri.as_str(), variant.audio.as_deref()), ("cmaf/index.m3u8", Some("audio")));
    assert!(variant.codecs.as_deref().is_some_and(|c| c.starts_with("avc1.") && c.ends_with(",mp4a.40.2")));
    assert_eq!(variant.resolution.as_ref().map(|r| (r.width, r.height)), Some((320, 240)));
    for (playlist, init_type, segment_type) in
        [("cmaf/index.m3u8", "video/mp4", "video/mp4"), ("cmaf/audio.m3u8", "audio/mp4", "audio/mp4")]
    {
        let (_, text) = get(playlist);
        let Ok(m3u8_rs::Playlist::MediaPlaylist(p)) = m3u8_rs::parse_playlist_res(&text) else { panic!() };
        assert_eq!(p.version, Some(7), "EXT-X-MAP needs version 7");
        let map = p.segments[0].map.as_ref().unwrap_or_else(|| panic!("no EXT-X-MAP: {p:?}"));
        let (kind, init) = get(&format!("cmaf/{}", map.uri));
        assert_eq!(kind, init_type);
        assert_eq!(&init[4..8], b"ftyp");
        let (kind, segment) = get(&format!("cmaf/{}", p.segments[1].uri));
        assert_eq!(kind, segment_type);
        assert_eq!(&segment[4..8], b"moof");
    }
    assert_eq!(probe_codecs(&format!("{base}/master.m3u8")), ["aac", "h264"], "ffprobe reads the fMP4 HLS");

    // DASH: ffmpeg's DASH demuxer reads the live MPD.
    let (kind, _) = get("manifest.mpd");
    assert_eq!(kind, "application/dash+xml");
    assert_eq!(probe_codecs(&format!("{base}/manifest.mpd")), ["aac", "h264"], "ffprobe reads the MPD");

    // dash.js plays it in Chromium, with the SCTE-35 events reaching the
    // page; then hls.js plays the fMP4 HLS.
    for (player, stream) in [("dash", "manifest.mpd"), ("hls", "master.m3u8")] {
        let expect = Expect { size: "320x240", events: 1, audio: true, captions: 0, switch: false, max_latency: None };
        let result = play(&a, player, stream, &expect);
        if player == "dash" {
            // The first cue, as dash.js handed it to the page.
            let event = &result["events"][0];
            assert_eq!(event["scheme"], "urn:scte:scte35:2014:xml+bin", "{result}");
            let hex: String = source.cues[0].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(event["data"].as_str(), Some(hex.as_str()), "the section sent: {result}");
            let at = event["time"].as_f64().unwrap();
            assert!((at - 20.0).abs() < 0.001, "at the splice point, 20 s into the stream: {result}");
        }
    }
    sent.join().unwrap();

    // The manifest after the whole stream: a timeline of 2 s segments,
    // cut at each splice point, and each cue as an xml+bin event at its
    // splice point that threefive decodes to the section sent.
    let (_, text) = get("manifest.mpd");
    let text = String::from_utf8(text.to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mpd = doc.root_element();
    assert_eq!((mpd.tag_name().name(), mpd.attribute("type")), ("MPD", Some("dynamic")), "{text}");
    let start = date_ms(mpd.attribute("availabilityStartTime").unwrap());
    let templates = elements(&doc, "SegmentTemplate");
    assert_eq!(templates.len(), 2, "video and audio: {text}");
    let video = templates[0];
    assert_eq!(number(video, "timescale"), 90_000);
    let zero = number(video, "presentationTimeOffset");
    assert_eq!(zero, first.get(), "time zero is the first keyframe");
    let starts: Vec<u64> = video
        .descendants()
        .filter(|n| n.tag_name().name() == "S")
        .flat_map(|s| {
            let (t, d) = (number(s, "t"), number(s, "d"));
            let r = s.attribute("r").map_or(0, |r| r.parse::<u64>().unwrap());
            (0..=r).map(move |i| t + i * d)
        })
        .map(|t| (t - zero) / 90_000)
        .collect();
    assert!(starts.windows(2).all(|w| w[1] > w[0]), "{starts:?}");
    for splice in [20, 36] {
        assert!(starts.contains(&splice), "a segment starts at the splice point {splice} s: {starts:?}");
    }
    let events = elements(&doc, "Event");
    assert_eq!(events.len(), 2, "{text}");
    let stream = events[0].parent().unwrap();
    assert_eq!(stream.attribute("schemeIdUri"), Some("urn:scte:scte35:2014:xml+bin"));
    assert_eq!(number(stream, "presentationTimeOffset"), zero);
    let at: Vec<u64> = events.iter().map(|e| number(*e, "presentationTime")).collect();
    assert_eq!(at, [zero + 20 * 90_000, zero + 36 * 90_000], "{text}");
    let binaries: Vec<&str> = elements(&doc, "Binary").iter().map(|b| b.text().unwrap()).collect();
    let decoded = io_support::threefive_decode(&binaries);
    assert_eq!(decoded.iter().map(|(b, _)| b.clone()).collect::<Vec<_>>(), source.cues);
    // Time zero was received when the stream began.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let age = (now - start) as f64 / 1000.0;
    assert!((45.0..90.0).contains(&age), "availabilityStartTime {age} s ago, for a 50 s stream");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// ffmpeg's reading of a WebVTT file as cues.
fn vtt_cues(dir: &std::path::Path, name: &str, vtt: &[u8]) -> Vec<stagebox_media::captions::Cue> {
    use stagebox_media::captions::{TextFormat, read};
    std::fs::write(dir.join(name), vtt).unwrap();
    let srt = format!("{name}.srt");
    io_support::ffmpeg(&["-i", name, "-c:s", "srt", &srt], dir);
    read(&std::fs::read_to_string(dir.join(srt)).unwrap(), TextFormat::Srt).unwrap()
}

#[test]
fn captions_become_a_webvtt_rendition() {
    let dir = tempfile::tempdir().unwrap();
    // CEA-608 captions (CC1) in the SEI of 29.97 fps H.264, a keyframe a
    // second, padded to 8 Mb/s so that it is sent in real time.
    let cues = io_support::generated_cues(10);
    let frames = (cues.last().unwrap().end * 30 / 1_001_000_000 + 90) as usize;
    io_support::captioned_ts(dir.path(), &cues, frames);
    let padded = dir.path().join("padded.ts");
    io_support::ffmpeg(
        &["-i", "captioned.ts", "-c", "copy", "-muxrate", "8000000", "-f", "mpegts", padded.to_str().unwrap()],
        dir.path(),
    );
    let ts = std::fs::read(&padded).unwrap();
    let a = Appliance::new(&[]);
    let input = free_port();
    // Captions need CMAF: refused on a TS output, with the field named.
    let mut spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "cmaf", "url": "hls://?segment=2&dvr=60", "captions": { "plugin": "captions" } }],
    });
    let (status, e) = a.call("POST", "/api/v1/channels", Some(spec.clone()));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("outputs[0].captions: captions need"), "{e}");
    spec["outputs"][0]["captions"]["plugin"] = json!("scte35");
    spec["outputs"][0]["url"] = json!("hls://?segment=2&dvr=60&container=cmaf");
    let (status, e) = a.call("POST", "/api/v1/channels", Some(spec.clone()));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("caption-converter"), "the wrong kind of plugin: {e}");
    spec["outputs"][0]["captions"]["plugin"] = json!("captions");
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = io_support::send_rtp(ts, format!("127.0.0.1:{input}").parse().unwrap(), stop.clone());
    let base = format!("{}/streams/news", a.daemon.url);
    let get = |path: &str| {
        let r = a.c.get(format!("{base}/{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        (header(&r, "content-type").unwrap(), r.bytes().unwrap())
    };
    eventually(Duration::from_secs(20), "three subtitle segments", || {
        let r = a.c.get(format!("{base}/cmaf/subtitles.m3u8")).send().unwrap();
        (r.status() == 200 && r.text().unwrap().matches("#EXTINF").count() >= 3).then_some(())
    });
    // The master playlist's subtitles group, and the variant in it.
    let (_, text) = get("master.m3u8");
    let Ok(m3u8_rs::Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&text) else { panic!() };
    let subs = master.alternatives.iter().find(|m| m.media_type.to_string() == "SUBTITLES").unwrap();
    assert_eq!((subs.group_id.as_str(), subs.uri.as_deref()), ("subs", Some("cmaf/subtitles.m3u8")));
    assert_eq!(master.variants[0].subtitles.as_deref(), Some("subs"));

    // Players play it with the captions shown: dash.js (the wvtt
    // segments) and hls.js (the WebVTT playlist).
    for (player, stream) in [("dash", "manifest.mpd"), ("hls", "master.m3u8")] {
        let result = play(
            &a,
            player,
            stream,
            &Expect { size: "160x120", events: 0, audio: false, captions: 1, switch: false, max_latency: None },
        );
        // Each line shown is a line of one of the source's cues: the
        // rendition's, since hls.js's own 608 parser is off (players.mjs).
        // Apostrophes compare loosely: 608's is drawn either way.
        let plain = |t: &str| t.replace('’', "'");
        let shown = result["captions"].as_array().unwrap();
        assert!(!shown.is_empty(), "{player} showed no caption");
        for line in shown.iter().flat_map(|s| s.as_str().unwrap().lines()) {
            let known = cues.iter().any(|c| plain(&c.text).lines().any(|l| l == plain(line)));
            assert!(known, "{player} showed {line:?}, not a line of the source's cues");
        }
    }
    sent.join().unwrap();

    // Every source cue, with its time, in the WebVTT segments ffmpeg
    // reads (a cue spanning segments is in each).
    let (_, playlist) = get("cmaf/subtitles.m3u8");
    let Ok(m3u8_rs::Playlist::MediaPlaylist(playlist)) = m3u8_rs::parse_playlist_res(&playlist) else { panic!() };
    let mut shown = Vec::new();
    for (i, s) in playlist.segments.iter().enumerate() {
        let (kind, vtt) = get(&format!("cmaf/{}", s.uri));
        assert_eq!(kind, "text/vtt; charset=utf-8");
        assert!(vtt.starts_with(b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:"), "{}", String::from_utf8_lossy(&vtt));
        if String::from_utf8_lossy(&vtt).contains("-->") {
            shown.extend(vtt_cues(dir.path(), &format!("s{i}.vtt"), &vtt));
        }
    }
    shown.dedup();
    let ms = |ns: u64| ns / 1_000_000;
    let plain = |t: &str| t.replace('’', "'");
    let covered: Vec<_> = cues.iter().filter(|c| shown.iter().any(|s| plain(&s.text) == plain(&c.text))).collect();
    assert!(covered.len() >= cues.len() - 1, "the cues of all but the last segments: {shown:?}");
    for c in covered {
        let s = shown.iter().find(|s| plain(&s.text) == plain(&c.text)).unwrap();
        // On the source's frame (34 ms at 29.97 fps), from time zero, the
        // first frame.
        assert!(ms(s.start).abs_diff(ms(c.start)) <= 34 && ms(s.end).abs_diff(ms(c.end)) <= 34, "{s:?} vs {c:?}");
    }
    // DASH: a text adaptation set of wvtt CMAF segments.
    let (_, mpd) = get("manifest.mpd");
    let mpd = String::from_utf8(mpd.to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&mpd).unwrap();
    let text =
        elements(&doc, "AdaptationSet").into_iter().find(|s| s.attribute("contentType") == Some("text")).unwrap();
    assert_eq!(text.attribute("mimeType"), Some("application/mp4"));
    let representation = elements(&doc, "Representation").into_iter().find(|r| r.attribute("codecs") == Some("wvtt"));
    assert!(representation.is_some(), "{mpd}");
    let template = text.descendants().find(|n| n.tag_name().name() == "SegmentTemplate").unwrap();
    let (kind, init) = get(template.attribute("initialization").unwrap());
    assert_eq!((kind.as_str(), &init[4..8]), ("application/mp4", &b"ftyp"[..]));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn a_ladder_is_served_and_players_switch_renditions() {
    let a = Appliance::new(&[]);
    let input = free_port();
    let url = "hls://?segment=2&dvr=60&container=cmaf&ladder=low:320x180@300,mid:480x270@600&passthrough=1";
    let mut spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "abr", "url": url.replace("@600", "@6") }],
    });
    // A rendition the ladder cannot make is refused, the field named.
    let (status, e) = a.call("POST", "/api/v1/channels", Some(spec.clone()));
    assert_eq!(status, 422, "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("outputs[0].url: ladder: "), "{e}");
    spec["outputs"][0]["url"] = json!(url);
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    let _encoder = encoder(input, 60);
    let base = format!("{}/streams/news", a.daemon.url);
    let get = |path: &str| {
        let r = a.c.get(format!("{base}/{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().unwrap()
    };
    eventually(Duration::from_secs(30), "three segments of each rendition", || {
        let three = |name: &str| {
            let r = a.c.get(format!("{base}/{name}/index.m3u8")).send().unwrap();
            r.status() == 200 && r.text().unwrap().matches("#EXTINF").count() >= 3
        };
        ["abr", "abr-low", "abr-mid"].into_iter().all(three).then_some(())
    });
    // Three variants: the source and two renditions, sizes and codecs.
    let Ok(m3u8_rs::Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&get("master.m3u8")) else {
        panic!()
    };
    let variants: Vec<(String, Option<(u64, u64)>)> =
        master.variants.iter().map(|v| (v.uri.clone(), v.resolution.as_ref().map(|r| (r.width, r.height)))).collect();
    assert_eq!(
        variants,
        [
            ("abr/index.m3u8".to_owned(), Some((640, 360))),
            ("abr-low/index.m3u8".to_owned(), Some((320, 180))),
            ("abr-mid/index.m3u8".to_owned(), Some((480, 270)))
        ]
    );
    assert!(master.variants.iter().all(|v| v.audio.as_deref() == Some("audio") && v.codecs.is_some()));
    let bandwidth: Vec<u64> = master.variants.iter().map(|v| v.bandwidth).collect();
    assert!(bandwidth[1] < bandwidth[2], "the 300 kb/s rendition is lighter than the 600: {bandwidth:?}");
    assert_eq!(probe_codecs(&format!("{base}/master.m3u8")), ["aac", "h264"]);
    // Aligned: every rendition's segments start at the same times.
    let mpd = String::from_utf8(get("manifest.mpd").to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&mpd).unwrap();
    let video =
        elements(&doc, "AdaptationSet").into_iter().find(|s| s.attribute("contentType") == Some("video")).unwrap();
    let starts: Vec<Vec<u64>> = video
        .descendants()
        .filter(|n| n.tag_name().name() == "SegmentTimeline")
        .map(|timeline| {
            timeline
                .children()
                .filter(|n| n.tag_name().name() == "S")
                .flat_map(|s| {
                    let (t, d) = (number(s, "t"), number(s, "d"));
                    let r = s.attribute("r").map_or(0, |r| r.parse::<u64>().unwrap());
                    (0..=r).map(move |i| t + i * d)
                })
                .collect()
        })
        .collect();
    assert_eq!(starts.len(), 3, "{mpd}");
    let shared = starts.iter().map(Vec::len).min().unwrap();
    assert!(shared >= 3, "{starts:?}");
    for s in &starts[1..] {
        assert_eq!(s[..shared], starts[0][..shared], "segment starts differ: {starts:?}");
    }
    // hls.js plays the ladder, moving between renditions with no error.
    let result = play(
        &a,
        "hls",
        "master.m3u8",
        &Expect {
            size: "640x360|320x180|480x270",
            events: 0,
            audio: true,
            captions: 0,
            switch: true,
            max_latency: None,
        },
    );
    println!("{result}");
}

#[test]
fn low_latency_hls_parts_and_blocking_reloads() {
    let a = Appliance::new(&[]);
    let input = free_port();
    let spec = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "ll", "url": "hls://?segment=2&dvr=30&container=cmaf&part_ms=500" }],
    });
    a.ok("POST", "/api/v1/channels", Some(spec));
    a.ok("POST", "/api/v1/channels/news/start", None);
    let _encoder = encoder(input, 60);
    let media = format!("{}/streams/news/ll/index.m3u8", a.daemon.url);
    let text = eventually(Duration::from_secs(20), "two segments", || {
        let r = a.c.get(&media).send().unwrap();
        let text = r.text().unwrap();
        (text.matches("#EXTINF").count() >= 2).then_some(text)
    });
    for tag in [
        "#EXT-X-VERSION:9",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500",
        "#EXT-X-PART-INF:PART-TARGET=0.500",
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=",
    ] {
        assert!(text.contains(tag), "{tag} in {text}");
    }
    // Parts of at most the target, the first of each segment independent.
    let parts: Vec<(f64, bool)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-PART:DURATION="))
        .map(|l| (l.split(',').next().unwrap().parse().unwrap(), l.contains("INDEPENDENT=YES")))
        .collect();
    assert!(parts.len() >= 4 && parts.iter().all(|(d, _)| *d <= 0.5), "{parts:?}");
    assert!(parts.iter().any(|(_, i)| *i));
    // A blocking reload for the next segment's first part answers once it
    // is listed, and the hinted part, asked for before it exists, comes.
    let sequence: u64 = text.lines().find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:")).unwrap().parse().unwrap();
    let next = sequence + text.matches("#EXTINF").count() as u64 + 1;
    let hint = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let part = a.c.get(format!("{}/streams/news/ll/{hint}", a.daemon.url)).send().unwrap();
    assert_eq!(part.status(), 200, "the hinted part, held until made");
    assert_eq!(&part.bytes().unwrap()[4..8], b"moof");
    let started = std::time::Instant::now();
    let r = a.c.get(format!("{media}?_HLS_msn={next}&_HLS_part=0")).send().unwrap();
    assert_eq!(r.status(), 200);
    let held = r.text().unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(6), "answered within three target durations: {waited:?}");
    let listed = held.lines().filter(|l| l.starts_with("#EXTINF")).count() as u64;
    let sequence: u64 = held.lines().find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:")).unwrap().parse().unwrap();
    assert!(sequence + listed >= next, "segment {next} is there or filling with a part: {held}");
    let r = a.c.get(format!("{media}?_HLS_msn={}", next + 10)).send().unwrap();
    assert_eq!(r.status(), 400, "too far ahead");
    // hls.js in low-latency mode stays close to the live edge.
    let result = play(
        &a,
        "hls",
        "ll/index.m3u8",
        &Expect { size: "640x360", events: 0, audio: false, captions: 0, switch: false, max_latency: Some(3.0) },
    );
    println!("{result}");
}

/// A 1 kHz stereo tone written into audio flow `studio/tone` of the
/// appliance's domain, in step with the TAI clock, as another process's
/// MXL writer would, until `stop` (at most two minutes).
fn tone_flow(a: &Appliance, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<()> {
    use stagebox_flow::{
        AudioFormat, FlowDescriptor, FlowFormat, Rational, SampleFormat, now_tai_ns, timestamp_to_index,
    };
    let rate = Rational::new(48_000, 1).unwrap();
    let format = FlowFormat::Audio(AudioFormat { sample_rate: rate, channels: 2, sample: SampleFormat::F32 });
    let descriptor = FlowDescriptor::new(uuid::Uuid::new_v4(), "studio/tone", format).unwrap();
    let mut writer = a.domain().create_continuous(&descriptor).unwrap();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let mut last = timestamp_to_index(now_tai_ns(), rate);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(10));
            let now = timestamp_to_index(now_tai_ns(), rate).min(last + writer.max_window());
            if now <= last {
                continue;
            }
            let tone: Vec<f32> =
                (last + 1..=now).map(|n| (0.25 * (std::f64::consts::TAU * n as f64 / 48.0).sin()) as f32).collect();
            let mut window = writer.grant(now, now - last).unwrap();
            window.write_f32(0, &tone).unwrap();
            window.write_f32(1, &tone).unwrap();
            window.commit();
            last = now;
        }
    })
}

#[test]
fn pipeline_flows_are_encoded_and_packaged_on_tai() {
    let a = Appliance::new(&[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tone = tone_flow(&a, stop.clone());
    let input = free_port();
    let channel = json!({
        "name": "news",
        "inputs": [format!("rtp://127.0.0.1:{input}")],
        "outputs": [{ "id": "cmaf", "url": "hls://?segment=2&dvr=30&container=cmaf&clock=tai" }],
    });
    a.ok("POST", "/api/v1/channels", Some(channel));
    a.ok("POST", "/api/v1/channels/news/start", None);
    // Bars, encoded with the tone, sent to the channel over RTP.
    let encoder = |audio: &str| {
        json!({
            "name": "studio",
            "nodes": [
                { "id": "bars", "type": "test_pattern", "width": 640, "height": 360, "rate": "25/1" },
                { "id": "enc", "type": "encoder", "video_kbps": 800, "keyframe_ms": 2000, "audio": audio,
                  "url": format!("rtp://127.0.0.1:{input}") },
            ],
            "connections": [{ "from": "bars", "to": "enc" }],
        })
    };
    let (status, body) = a.call("POST", "/api/v1/pipelines", Some(encoder("studio/nope")));
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("nodes[1].audio"), "{body}");
    a.ok("POST", "/api/v1/pipelines", Some(encoder("studio/tone")));
    a.ok("POST", "/api/v1/pipelines/studio/start", None);

    let base = format!("{}/streams/news", a.daemon.url);
    let text = eventually(Duration::from_secs(30), "three video segments", || {
        let r = a.c.get(format!("{base}/cmaf/index.m3u8")).send().unwrap();
        let text = r.text().unwrap();
        (text.matches("#EXTINF").count() >= 3).then_some(text)
    });
    // Program date-times come from the PTS, the grains' TAI made UTC: on
    // the 25 fps grain grid (whole 40 ms); and after the encoder's first
    // keyframe (its first picture), segments start on its keyframes, every
    // whole 2 s of TAI.
    let dates: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:")).collect();
    let ms = |d: &str| -> u64 {
        let t = &d[11..23];
        let hms = t[..2].parse::<u64>().unwrap() * 3600 + t[3..5].parse::<u64>().unwrap() * 60;
        (hms + t[6..8].parse::<u64>().unwrap()) * 1000 + t[9..12].parse::<u64>().unwrap()
    };
    assert!(dates.len() >= 3 && dates.iter().all(|d| ms(d) % 40 == 0), "{text}");
    assert!(dates[1..].iter().all(|d| d.ends_with(".000Z")), "{text}");
    for pair in dates[1..].windows(2) {
        assert_eq!((ms(pair[1]) + 86_400_000 - ms(pair[0])) % 86_400_000, 2000, "{text}");
    }
    assert_eq!(probe_codecs(&format!("{base}/master.m3u8")), ["aac", "h264"], "ffprobe reads the HLS");
    // DASH: availabilityStartTime is the first segment's TAI, made UTC
    // (the first segment is still in the 30 s window), within the last
    // minute.
    let mpd = a.c.get(format!("{base}/manifest.mpd")).send().unwrap().text().unwrap();
    let ast = mpd.split("availabilityStartTime=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_eq!(ast, dates[0], "{mpd}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!((now % 86_400_000 + 86_400_000 - ms(&ast)) % 86_400_000 < 60_000, "{ast} is not in the last minute");
    assert_eq!(probe_codecs(&format!("{base}/manifest.mpd")), ["aac", "h264"], "ffprobe reads the MPD");
    // Both players play it, the tone decoded.
    for (player, stream) in [("dash", "manifest.mpd"), ("hls", "master.m3u8")] {
        let expect = Expect { size: "640x360", events: 0, audio: true, captions: 0, switch: false, max_latency: None };
        let result = play(&a, player, stream, &expect);
        println!("{player}: {result}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    tone.join().unwrap();
}
