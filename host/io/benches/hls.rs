//! `cargo xtask bench hls`: HLS packaging without transcoding, against
//! ffmpeg's HLS muxer (`-c copy -f hls`) on the same input, in one run.
//!
//! - **Packaging.** A 90 s, 6 Mb/s ffmpeg encode (1280×720 H.264 with a
//!   keyframe a second, and AAC) packaged from a file into 2 s segments
//!   with a 6-segment window, segments written to disk and the old ones
//!   deleted, the playlist rewritten (temporary file, then rename) after
//!   each, on tmpfs: `stagebox_media::hls` against `ffmpeg -c copy -f hls -hls_time 2
//!   -hls_list_size 6 -hls_flags delete_segments`. Best of five, as
//!   megabytes of input a second. ffmpeg's time includes its start-up,
//!   which is measured too (on the first second of the source) and
//!   printed beside the figure.
//! - **Playlist latency.** Its first 30 s sent as RTP in real time to
//!   four channels with an `hls://?segment=1` output each, in this process;
//!   then to four `ffmpeg -c copy -f hls -hls_time 1` processes. For each
//!   segment: from the send of the datagram that completes it (the one
//!   holding the first packet of the next keyframe: before that no
//!   packager can know the segment has ended) to the new playlist: the
//!   output's publication for Stagebox, the rename of `index.m3u8` seen by
//!   inotify for ffmpeg. The first 8 segments are left out (ffmpeg probes
//!   its input for the first seconds). p50 and p99. Note that ffmpeg
//!   re-interleaves its input by DTS before its HLS muxer sees it, so it
//!   waits for the audio multiplexed after each keyframe; Stagebox cuts the
//!   transport stream where the keyframe starts.

#![allow(clippy::unwrap_used)]

use stagebox_bench::report;
use stagebox_io::output::{OutputConfig, OutputPlugins};
use stagebox_io::url::OutputUrl;
use stagebox_io::{Channel, ChannelConfig};
use stagebox_media::hls::{MediaPlaylist, Segmenter};
use stagebox_media::rtp::{PT_MP2T, RtpHeader, write};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seconds of source for the packaging figure.
const SOURCE_SECONDS: u64 = 90;
/// Seconds of it sent live for the latency figure.
const SECONDS: u64 = 30;
const DATAGRAM: usize = 7 * 188;
const CHANNELS: usize = 4;
/// Segments left out at the start of the latency runs.
const WARMUP_SEGMENTS: usize = 8;

fn source(dir: &Path) -> std::path::PathBuf {
    let out = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &SOURCE_SECONDS.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0"])
        .args(["-b:v", "6M", "-maxrate", "6M", "-bufsize", "3M", "-c:a", "aac", "-b:a", "128k"])
        .args(["-f", "mpegts", "source.ts"])
        .output()
        .expect("ffmpeg must be installed (cargo xtask setup)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("source.ts")
}

/// Writes `bytes` to `path` through a temporary file and a rename, as a
/// live packager must (a reader never sees half a playlist).
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Packages `source` into `out` with `stagebox_media::hls`; returns the
/// segments made.
fn package_stagebox(source: &Path, out: &Path) -> usize {
    use std::io::Read;
    // Read as it would arrive: a datagram's worth at a time.
    let mut file = std::io::BufReader::with_capacity(64 << 10, std::fs::File::open(source).unwrap());
    let mut datagram = [0u8; DATAGRAM];
    let mut segmenter = Segmenter::new(2.0);
    let mut playlist = MediaPlaylist::new(6, 2);
    let mut made = 0;
    let playlist_path = out.join("index.m3u8");
    for i in 0.. {
        // A whole datagram, or what is left at the end.
        let mut n = 0;
        while n < DATAGRAM {
            match file.read(&mut datagram[n..]).unwrap() {
                0 => break,
                got => n += got,
            }
        }
        let segments = match n {
            0 => segmenter.finish().into_iter().collect(),
            n => segmenter.push(&datagram[..n - n % 188], i),
        };
        for segment in segments {
            let name = format!("{}.ts", segment.sequence);
            std::fs::write(out.join(&name), &segment.bytes).unwrap();
            for old in playlist.push(name, segment.duration, segment.utc_ms, segment.discontinuity) {
                std::fs::remove_file(out.join(old)).unwrap();
            }
            replace(&playlist_path, playlist.render().as_bytes());
            made += 1;
        }
        if n == 0 {
            return made;
        }
    }
    made
}

/// The same with ffmpeg's HLS muxer; returns the segments made.
fn package_ffmpeg(source: &Path, out: &Path) -> usize {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(source)
        .args(["-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_flags", "delete_segments"])
        .arg(out.join("index.m3u8"))
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(out.join("index.m3u8")).unwrap();
    let sequence: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    sequence + text.matches("#EXTINF").count()
}

/// Best of five wall-clock runs of `f` in a fresh folder each time, in
/// seconds, and what the last run returned.
fn best(dir: &Path, name: &str, f: impl Fn(&Path) -> usize) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut made = 0;
    for run in 0..5 {
        let out = dir.join(format!("{name}-{run}"));
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        made = f(&out);
        best = best.min(t.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&out).unwrap();
    }
    (best, made)
}

/// The index of the datagram that completes each 1 s segment.
fn closers(ts: &[u8]) -> Vec<usize> {
    let mut segmenter = Segmenter::new(1.0);
    let mut closers = Vec::new();
    for (i, chunk) in ts.chunks(DATAGRAM).enumerate() {
        for _ in segmenter.push(chunk, 0) {
            closers.push(i);
        }
    }
    closers
}

/// Sends `ts` as RTP to each of `targets` in real time (the whole file in
/// `SECONDS`); returns each datagram's send instant.
fn send(ts: &[u8], targets: &[SocketAddr]) -> Vec<Instant> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagrams = ts.len().div_ceil(DATAGRAM);
    let interval = Duration::from_secs(SECONDS).as_secs_f64() / datagrams as f64;
    let start = Instant::now() + Duration::from_millis(200);
    let mut sent = Vec::with_capacity(datagrams);
    for (i, chunk) in ts.chunks(DATAGRAM).enumerate() {
        let due = start + Duration::from_secs_f64(interval * i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let header =
            RtpHeader { marker: false, payload_type: PT_MP2T, sequence: i as u16, timestamp: (i * 90) as u32, ssrc: 7 };
        let packet = write(&header, chunk);
        sent.push(Instant::now());
        for target in targets {
            socket.send_to(&packet, target).unwrap();
        }
    }
    sent
}

/// Latencies in ms of each playlist update (`published`, by segment)
/// after the send of the latest datagram that completed a segment before
/// it (`closers`, datagram indices). Attributing by time rather than by
/// count keeps a packager that missed the stream's first keyframe (ffmpeg
/// while it starts) from being charged a whole segment; it assumes a
/// latency under one segment (1 s), which both packagers keep. The
/// warm-up's segments are left out.
fn latencies(published: &[Option<Instant>], closers: &[usize], sent: &[Instant]) -> Vec<f64> {
    let completed: Vec<Instant> = closers.iter().map(|&i| sent[i]).collect();
    published
        .iter()
        .flatten()
        .filter_map(|&at| {
            let before = completed.partition_point(|&t| t <= at);
            (before > WARMUP_SEGMENTS).then(|| at.duration_since(completed[before - 1]).as_secs_f64() * 1e3)
        })
        .collect()
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn latency_stagebox(ts: &[u8], closers: &[usize]) -> Vec<f64> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut channels = Vec::new();
    let mut targets = Vec::new();
    let mut watchers = Vec::new();
    for c in 0..CHANNELS {
        let config = ChannelConfig {
            name: format!("c{c}"),
            primary: "rtp://127.0.0.1:0".into(),
            backup: None,
            merge: false,
            failover: Default::default(),
            batch: Duration::ZERO,
        };
        let output =
            OutputConfig { id: "hls".into(), url: OutputUrl::parse("hls://?segment=1&dvr=10").unwrap(), pids: None };
        let channel = runtime.block_on(Channel::start(config, vec![(output, OutputPlugins::default())])).unwrap();
        targets.push(channel.input_addresses()[0]);
        let mut updates = channel.hls("hls").unwrap().subscribe();
        let published = Arc::new(Mutex::new(Vec::new()));
        let record = published.clone();
        runtime.spawn(async move {
            while updates.changed().await.is_ok() {
                let now = Instant::now();
                let count = *updates.borrow_and_update() as usize;
                let mut p = record.lock().unwrap();
                p.resize(count, None);
                p[count - 1] = Some(now);
            }
        });
        watchers.push(published);
        channels.push(channel);
    }
    let sent = send(ts, &targets);
    std::thread::sleep(Duration::from_millis(300));
    drop(channels);
    watchers.iter().flat_map(|w| latencies(&w.lock().unwrap(), closers, &sent)).collect()
}

fn latency_ffmpeg(dir: &Path, ts: &[u8], closers: &[usize]) -> Vec<f64> {
    use rustix::fs::inotify;
    let mut children = Vec::new();
    let mut targets = Vec::new();
    let inotify_fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).unwrap();
    let mut dirs = Vec::new();
    for c in 0..CHANNELS {
        let out = dir.join(format!("ffmpeg-live-{c}"));
        std::fs::create_dir_all(&out).unwrap();
        let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let wd = inotify::add_watch(&inotify_fd, &out, inotify::WatchFlags::MOVED_TO).unwrap();
        children.push(
            Command::new("ffmpeg")
                // Fatal errors only: while it starts it may join the stream
                // after its first parameter sets, and says so each time.
                .args(["-hide_banner", "-loglevel", "fatal", "-y", "-i", &format!("rtp://127.0.0.1:{port}")])
                .args(["-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_list_size", "10"])
                .arg(out.join("index.m3u8"))
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
        targets.push(SocketAddr::from(([127, 0, 0, 1], port)));
        dirs.push((wd, out));
    }
    // Events are read on a thread as they come, and each playlist then
    // (after the time is taken) to learn how many segments it has made.
    let published: Arc<Mutex<Vec<Vec<Option<Instant>>>>> = Arc::new(Mutex::new(vec![Vec::new(); CHANNELS]));
    let reader = {
        let published = published.clone();
        let dirs = dirs.clone();
        std::thread::spawn(move || {
            let mut buf = vec![std::mem::MaybeUninit::uninit(); 4096];
            let deadline = Instant::now() + Duration::from_secs(SECONDS + 10);
            let mut events = inotify::Reader::new(&inotify_fd, &mut buf);
            while Instant::now() < deadline {
                let event = match events.next() {
                    Ok(event) => event,
                    Err(rustix::io::Errno::AGAIN) => {
                        // Nothing yet: wait for the descriptor (bounded, so
                        // the deadline is seen).
                        let mut fds = [rustix::event::PollFd::new(&inotify_fd, rustix::event::PollFlags::IN)];
                        let timeout = rustix::time::Timespec { tv_sec: 0, tv_nsec: 100_000_000 };
                        let _ = rustix::event::poll(&mut fds, Some(&timeout));
                        continue;
                    }
                    Err(_) => break,
                };
                let now = Instant::now();
                if event.file_name().is_none_or(|n| n.to_bytes() != b"index.m3u8") {
                    continue;
                }
                let Some(c) = dirs.iter().position(|(wd, _)| *wd == event.wd()) else { continue };
                let text = std::fs::read_to_string(dirs[c].1.join("index.m3u8")).unwrap_or_default();
                let sequence: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                let count = sequence + text.matches("#EXTINF").count();
                if count == 0 {
                    continue;
                }
                let mut p = published.lock().unwrap();
                let p = &mut p[c];
                if p.len() < count {
                    p.resize(count, None);
                }
                p[count - 1].get_or_insert(now);
            }
        })
    };
    // ffmpeg opens its input within a second or so; what it misses is
    // inside the warm-up.
    std::thread::sleep(Duration::from_millis(1500));
    let sent = send(ts, &targets);
    std::thread::sleep(Duration::from_millis(1000));
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    // Ends the reader: its watches go with the folders.
    for (_, out) in &dirs {
        let _ = std::fs::remove_dir_all(out);
    }
    let _ = reader.join();
    let published = published.lock().unwrap();
    published.iter().flat_map(|p| latencies(p, closers, &sent)).collect()
}

fn main() {
    // Outputs on tmpfs where there is one, so the disk's write-back is not
    // what is measured (a live packager keeps segments in memory).
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let source = source(dir.path());
    let ts = std::fs::read(&source).unwrap();
    let megabytes = ts.len() as f64 / 1e6;

    let (ours, ours_made) = best(dir.path(), "stagebox", |out| package_stagebox(&source, out));
    let (theirs, theirs_made) = best(dir.path(), "ffmpeg", |out| package_ffmpeg(&source, out));
    // ffmpeg's fixed cost: the same on the first second of the source.
    let first_second = dir.path().join("first-second.ts");
    std::fs::write(&first_second, &ts[..(ts.len() / SOURCE_SECONDS as usize) / 188 * 188]).unwrap();
    let (start_up, _) = best(dir.path(), "ffmpeg-start", |out| package_ffmpeg(&first_second, out));
    eprintln!(
        "hls: {megabytes:.1} MB in {ours_made} segments in {:.1} ms; ffmpeg {theirs_made} segments in {:.1} ms \
         (of which start-up and 1 s of media: {:.1} ms)",
        ours * 1e3,
        theirs * 1e3,
        start_up * 1e3
    );
    assert!(ours_made.abs_diff(theirs_made) <= 1, "both cut every 2 s: {ours_made} vs {theirs_made}");
    report("hls_package_copy_throughput", megabytes / ours, "MB/s", "ffmpeg_hls_copy", megabytes / theirs);

    let ts = &ts[..(ts.len() as u64 * SECONDS / SOURCE_SECONDS) as usize / 188 * 188];
    let closers = closers(ts);
    let mut ours = latency_stagebox(ts, &closers);
    let mut theirs = latency_ffmpeg(dir.path(), ts, &closers);
    eprintln!("hls: playlist latency samples: stagebox {}, ffmpeg {}", ours.len(), theirs.len());
    assert!(ours.len() >= CHANNELS * 15 && theirs.len() >= CHANNELS * 15, "too few segments measured");
    let (ours_p50, theirs_p50) = (percentile(&mut ours, 0.5), percentile(&mut theirs, 0.5));
    let (ours_p99, theirs_p99) = (percentile(&mut ours, 0.99), percentile(&mut theirs, 0.99));
    report("hls_playlist_update_p50", ours_p50, "ms", "ffmpeg_hls", theirs_p50);
    report("hls_playlist_update_p99", ours_p99, "ms", "ffmpeg_hls", theirs_p99);
}
