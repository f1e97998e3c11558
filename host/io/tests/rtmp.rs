//! The RTMP output against nginx with the RTMP module (Debian's
//! `libnginx-mod-rtmp`): the channel publishes its H.264 and AAC as FLV,
//! nginx records what it receives, and ffprobe reads the recording: the
//! same video frames as the source, and its audio.

#![allow(clippy::unwrap_used)]

mod support;

use stagebox_io::failover::FailoverConfig;
use stagebox_io::output::{OutputConfig, OutputPlugins};
use stagebox_io::status::OutputState;
use stagebox_io::url::OutputUrl;
use stagebox_io::{Channel, ChannelConfig};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// nginx on `port`, recording application `live` into `dir`.
fn nginx(dir: &Path, port: u16) -> Child {
    let module = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
    assert!(Path::new(module).exists(), "{module} is missing: cargo xtask setup installs libnginx-mod-rtmp");
    let conf = format!(
        "load_module {module};\n\
         daemon off;\nmaster_process off;\nerror_log {log} info;\npid {pid};\n\
         events {{ worker_connections 64; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
           application live {{ live on; record all; record_path {rec}; record_unique off; }} }} }}\n",
        log = dir.join("nginx.log").display(),
        pid = dir.join("nginx.pid").display(),
        rec = dir.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx must be installed: cargo xtask setup");
    // Until it listens (at most 10 s).
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "nginx did not listen: {}", log(dir));
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("nginx.log")).unwrap_or_default()
}

/// ffprobe's count of the frames of `kind` (v or a) in `file`.
fn frames(file: &Path, kind: &str) -> (String, u64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", kind, "-count_frames"])
        .args(["-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A TS lists its streams twice (under its programme, then alone).
    let text = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().trim().to_owned();
    let (codec, count) = text.split_once(',').unwrap_or_else(|| panic!("ffprobe: {text:?}"));
    (codec.to_owned(), count.trim().parse().unwrap_or_else(|_| panic!("ffprobe: {text:?}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_records_what_the_rtmp_output_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 4);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = nginx(dir.path(), port);
    let url = format!("rtmp://127.0.0.1:{port}/live/stagebox");
    let output = OutputConfig { id: "rtmp".into(), url: OutputUrl::parse(&url).unwrap(), pids: None };
    let config = ChannelConfig {
        name: "rtmp".into(),
        primary: "rtp://127.0.0.1:0".into(),
        backup: None,
        merge: false,
        failover: FailoverConfig::default(),
        batch: Duration::ZERO,
    };
    let channel = Channel::start(config, vec![(output, OutputPlugins::default())]).await.unwrap();
    // Published before the stream starts (at most 10 s).
    let start = Instant::now();
    while channel.status().outputs[0].state != OutputState::Running {
        assert!(start.elapsed() < Duration::from_secs(10), "{:?}\n{}", channel.status(), log(dir.path()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sender = support::send_rtp(source.ts.clone(), channel.input_addresses()[0], Arc::new(AtomicBool::new(false)));
    tokio::task::spawn_blocking(move || sender.join().unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = channel.status().outputs[0].clone();
    assert!(status.note.is_some_and(|n| n.contains("SCTE-35")), "the status says RTMP drops cues");
    assert_eq!((status.dropped, status.errors), (0, 0), "{status:?}");
    // Removing the output ends the publication; nginx closes the file.
    drop(channel);
    let recording = dir.path().join("stagebox.flv");
    let start = Instant::now();
    while !log(dir.path()).contains("record: 'stagebox' closed") && !log(dir.path()).contains("deleteStream") {
        assert!(start.elapsed() < Duration::from_secs(10), "nginx did not end the recording: {}", log(dir.path()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill();
    let _ = server.wait();

    std::fs::write(dir.path().join("source.ts"), &source.ts).unwrap();
    let (codec, sent) = frames(&dir.path().join("source.ts"), "v");
    assert_eq!(codec, "h264");
    // A video PES of unbounded length ends when the next one starts, so
    // the last frame of a stream that stops stays behind.
    let (codec, video) = frames(&recording, "v");
    assert_eq!(codec, "h264");
    assert!(video + 1 == sent || video == sent, "{video} of {sent} H.264 frames");
    let (codec, audio) = frames(&recording, "a");
    let (_, audio_sent) = frames(&dir.path().join("source.ts"), "a");
    assert_eq!(codec, "aac");
    println!("nginx recorded {video} of {sent} H.264 frames and {audio} of {audio_sent} AAC frames");
    assert!(audio + 2 >= audio_sent && audio <= audio_sent, "{audio} of {audio_sent} AAC frames");
}
