//! The distributor against real peers. ffmpeg makes an 8 Mb/s source (H.264,
//! AAC, and the ANSI/SCTE 35 §14 examples put in on their PID); the test
//! sends it over RTP at its real rate; what comes out is read by ffmpeg's
//! demuxer (no continuity failures), ffprobe, threefive (cues bit-identical)
//! and libsrt's srt-live-transmit.

#![allow(clippy::unwrap_used)]

mod support;

use stagebox_io::cue::{CueContext, CueDecision, CueFilter, CueOutcome};
use stagebox_io::failover::{FailoverConfig, Reason, Source};
use stagebox_io::output::{OutputConfig, OutputPlugins};
use stagebox_io::status::{ChannelStatus, InputState, OutputState};
use stagebox_io::url::OutputUrl;
use stagebox_io::{Channel, ChannelConfig};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{capture, free_port, send_rtp, send_rtp_legs};

fn output(id: &str, url: &str) -> OutputConfig {
    OutputConfig { id: id.into(), url: OutputUrl::parse(url).unwrap(), pids: None }
}

fn config(primary: &str, backup: Option<&str>, failover: FailoverConfig) -> ChannelConfig {
    ChannelConfig {
        name: "test".into(),
        primary: primary.into(),
        backup: backup.map(Into::into),
        merge: false,
        failover,
        batch: Duration::ZERO,
    }
}

/// Waits (at most 15 s) until the channel's status satisfies `done`.
async fn wait_for(channel: &Channel, what: &str, done: impl Fn(&ChannelStatus) -> bool) -> ChannelStatus {
    let mut status = channel.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let now = status.borrow_and_update().clone();
            if done(&now) {
                return now;
            }
            if status.changed().await.is_err() {
                panic!("the channel stopped while waiting for {what}");
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("no {what} within 15 s: {:#?}", channel.status()))
}

/// Waits (at most 20 s) for a peer process to end, killing it after.
fn reap(mut child: Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not finish after its stream ended");
}

fn running(status: &ChannelStatus, id: &str) -> bool {
    status.outputs.iter().any(|o| o.id == id && o.state == OutputState::Running)
}

/// libsrt's `srt-live-transmit` receiving from `url` into `dir/libsrt.ts`.
fn srt_live_transmit(url: &str, dir: &std::path::Path) -> Child {
    Command::new("srt-live-transmit")
        .arg(url)
        .args(["file://con", "-a:no", "-q"])
        .stdout(std::fs::File::create(dir.join("libsrt.ts")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("srt-live-transmit (srt-tools) must be installed: cargo xtask setup")
}

/// Sends the whole source to the channel's primary input at its rate;
/// returns the datagrams sent.
async fn send_all(source: &support::Source, channel: &Channel) -> usize {
    let (ts, to) = (source.ts.clone(), channel.input_addresses()[0]);
    tokio::task::spawn_blocking(move || send_rtp(ts, to, Arc::new(AtomicBool::new(false))).join().unwrap())
        .await
        .unwrap()
}

/// Stops the channel (its SRT outputs close their connections) and waits
/// for the peers to finish; gives the channel's last status.
async fn stop_and_reap(channel: Channel, peers: Vec<(Child, &'static str)>) -> ChannelStatus {
    let status = channel.status();
    drop(channel);
    tokio::task::spawn_blocking(move || peers.into_iter().for_each(|(child, what)| reap(child, what))).await.unwrap();
    status
}

/// ffmpeg, having received into `dir/ffmpeg.ts` with its debug log in
/// `dir/ffmpeg.log`, found no continuity failure and wrote out the video
/// and the audio.
fn ffmpeg_received_cleanly(dir: &std::path::Path) {
    let log = std::fs::read_to_string(dir.join("ffmpeg.log")).unwrap();
    assert_eq!(log.matches("Continuity check failed").count(), 0, "{log}");
    let codecs = support::ffprobe_codecs(dir, "ffmpeg.ts");
    assert!(codecs.contains(&"h264".to_owned()) && codecs.contains(&"aac".to_owned()), "{codecs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_peers_receive_valid_streams_with_identical_cues() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 5);
    let (udp, udp_capture) = capture(false, Duration::from_secs(1));
    let (rtp, rtp_capture) = capture(true, Duration::from_secs(1));
    // libsrt listens and our output calls it...
    let libsrt_port = free_port();
    let libsrt = srt_live_transmit(&format!("srt://127.0.0.1:{libsrt_port}?mode=listener&latency=120"), dir.path());
    // ...and our output listens, encrypted, and ffmpeg calls it.
    let ffmpeg_port = free_port();
    let key = "stagebox-test-passphrase";
    let channel = Channel::start(
        config("rtp://127.0.0.1:0", None, FailoverConfig::default()),
        vec![
            (output("udp", &format!("udp://{udp}")), OutputPlugins::default()),
            (output("rtp", &format!("rtp://{rtp}")), OutputPlugins::default()),
            (output("srt-caller", &format!("srt://127.0.0.1:{libsrt_port}?latency=120")), OutputPlugins::default()),
            (
                output(
                    "srt-listener",
                    &format!("srt://127.0.0.1:{ffmpeg_port}?mode=listener&passphrase={key}&pbkeylen=32"),
                ),
                OutputPlugins::default(),
            ),
        ],
    )
    .await
    .unwrap();
    let ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "debug", "-i"])
        .arg(format!("srt://127.0.0.1:{ffmpeg_port}?mode=caller&passphrase={key}&pbkeylen=32"))
        .args(["-map", "0", "-c", "copy", "-f", "mpegts", "-y"])
        .arg(dir.path().join("ffmpeg.ts"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("ffmpeg.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for(&channel, "both SRT outputs connected", |s| running(s, "srt-caller") && running(s, "srt-listener")).await;

    let sent = send_all(&source, &channel).await;
    let (udp, rtp) =
        tokio::task::spawn_blocking(move || (udp_capture.join().unwrap(), rtp_capture.join().unwrap())).await.unwrap();
    let status = stop_and_reap(channel, vec![(libsrt, "srt-live-transmit"), (ffmpeg, "ffmpeg")]).await;

    assert_eq!(sent, source.ts.len().div_ceil(7 * 188));
    // UDP and RTP: the very bytes sent, none lost, none changed.
    assert!(udp.ts == source.ts, "udp: {} of {} bytes, or changed", udp.ts.len(), source.ts.len());
    assert!(rtp.ts == source.ts, "rtp: {} of {} bytes, or changed", rtp.ts.len(), source.ts.len());
    // libsrt received all of it too: 8 Mb/s sustained with no loss.
    let libsrt = std::fs::read(dir.path().join("libsrt.ts")).unwrap();
    assert!(libsrt == source.ts, "srt-live-transmit: {} of {} bytes, or changed", libsrt.len(), source.ts.len());
    for (name, bytes) in [("udp.ts", &udp.ts), ("libsrt.ts", &libsrt)] {
        assert_eq!(support::ffmpeg_cc_failures(dir.path(), name, bytes), 0, "{name}");
        let codecs = support::ffprobe_codecs(dir.path(), name);
        for codec in ["h264", "aac", "scte_35"] {
            assert!(codecs.iter().any(|c| c == codec), "{name}: {codecs:?} lacks {codec}");
        }
        assert_eq!(support::threefive_cues(dir.path(), name), source.cues, "{name}");
    }
    // ffmpeg, through AES-256.
    ffmpeg_received_cleanly(dir.path());
    for o in &status.outputs {
        assert_eq!((o.dropped, o.cc_errors, o.errors), (0, 0, 0), "{o:?}");
    }
    assert_eq!(status.scte35.cues, source.cues.len() as u64);
}

/// Kill the primary mid-stream: the output carries on from the backup
/// after the detection time, with no continuity failure; when the primary
/// comes back and stays healthy, the channel returns to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_the_backup_and_back_keeps_the_output_clean() {
    let dir = tempfile::tempdir().unwrap();
    let primary_ts = support::source(dir.path(), "testsrc", 8);
    let backup_ts = support::source(dir.path(), "testsrc2", 8);
    let (out, out_capture) = capture(false, Duration::from_secs(1));
    let detect = Duration::from_millis(200);
    let failover = FailoverConfig { detect, revert_after: Some(Duration::from_secs(1)) };
    let channel = Channel::start(
        config("rtp://127.0.0.1:0", Some("rtp://127.0.0.1:0"), failover),
        vec![(output("out", &format!("udp://{out}")), OutputPlugins::default())],
    )
    .await
    .unwrap();
    let (primary_at, backup_at) = (channel.input_addresses()[0], channel.input_addresses()[1]);
    let stop_primary = Arc::new(AtomicBool::new(false));
    let backup = send_rtp(backup_ts.ts.clone(), backup_at, Arc::new(AtomicBool::new(false)));
    let primary = send_rtp(primary_ts.ts.clone(), primary_at, stop_primary.clone());
    wait_for(&channel, "the primary", |s| s.inputs[0].packets > 1000).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Kill the primary.
    stop_primary.store(true, Ordering::Relaxed);
    let killed = Instant::now();
    let status = wait_for(&channel, "the switch to the backup", |s| s.active == Source::Backup).await;
    assert_eq!(status.last_switch.map(|s| s.reason), Some(Reason::Lost));
    tokio::task::spawn_blocking(move || primary.join().unwrap()).await.unwrap();
    // The primary comes back (a new sender, a new RTP stream): after 1 s
    // healthy the channel returns to it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let primary = send_rtp(primary_ts.ts[188 * 7 * 1000..].to_vec(), primary_at, Arc::new(AtomicBool::new(false)));
    let status = wait_for(&channel, "the return to the primary", |s| s.active == Source::Primary).await;
    assert_eq!(status.last_switch.map(|s| s.reason), Some(Reason::Recovered));
    let capture = tokio::task::spawn_blocking(move || {
        primary.join().unwrap();
        backup.join().unwrap();
        out_capture.join().unwrap()
    })
    .await
    .unwrap();
    let status = channel.status();
    assert_eq!(status.switches, 2);

    // The gap: the longest silence on the output, around the kill.
    let around: Vec<Instant> =
        capture.arrivals.iter().copied().filter(|t| *t > killed - Duration::from_millis(500)).collect();
    let gap = around.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    println!("failover gap on the output: {gap:?} (detection time {detect:?})");
    // The primary's last datagram left up to one datagram (1.3 ms) before
    // the kill; the switch comes `detect` after it; the scheduler may add a
    // few milliseconds on a loaded machine.
    assert!(gap <= detect + Duration::from_millis(30), "gap {gap:?} > {detect:?}");
    assert!(gap >= detect - Duration::from_millis(5), "gap {gap:?}: the switch came before the detection time");
    assert_eq!(support::ffmpeg_cc_failures(dir.path(), "failover.ts", &capture.ts), 0);
    assert_eq!(status.outputs[0].cc_errors, 0);
}

/// Outputs added and removed while the channel runs: the output left alone
/// receives every byte (no gap, no continuity error); a dead SRT
/// destination never holds anything up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_come_and_go_without_touching_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 6);
    let (steady, steady_capture) = capture(false, Duration::from_secs(1));
    let channel = Channel::start(
        config("rtp://127.0.0.1:0", None, FailoverConfig::default()),
        vec![(output("steady", &format!("udp://{steady}")), OutputPlugins::default())],
    )
    .await
    .unwrap();
    let sender = send_rtp(source.ts.clone(), channel.input_addresses()[0], Arc::new(AtomicBool::new(false)));
    let mut added = Vec::new();
    // Nobody listens on this port: the SRT caller retries in the back-
    // ground, its queue bounded, dropping what it cannot send.
    let dead = format!("srt://127.0.0.1:{}", free_port());
    channel.add_output(output("dead-srt", &dead), OutputPlugins::default()).await.unwrap();
    // Each extra output lives for more than a GOP (1 s), so ffmpeg can
    // read what it got.
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (to, handle) = capture(false, Duration::from_millis(500));
        let id = format!("extra-{round}");
        channel.add_output(output(&id, &format!("rtp://{to}")), OutputPlugins::default()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        channel.remove_output(&id).await.unwrap();
        added.push(handle);
    }
    // Errors are the API's, not a panic: no such output, a second "steady".
    let missing = channel.remove_output("nope").await.unwrap_err().to_string();
    assert!(missing.contains("no output named \"nope\""), "{missing}");
    let twice = channel
        .add_output(output("steady", "udp://127.0.0.1:9"), OutputPlugins::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(twice.contains("already has an output named \"steady\""), "{twice}");
    let status = channel.status();
    let (sent, steady, extras) = tokio::task::spawn_blocking(move || {
        let sent = sender.join().unwrap();
        let extras: Vec<_> = added.into_iter().map(|h| h.join().unwrap()).collect();
        (sent, steady_capture.join().unwrap(), extras)
    })
    .await
    .unwrap();
    assert_eq!(sent, source.ts.len().div_ceil(7 * 188));
    assert!(steady.ts == source.ts, "steady: {} of {} bytes, or changed", steady.ts.len(), source.ts.len());
    assert_eq!(support::ffmpeg_cc_failures(dir.path(), "steady.ts", &steady.ts), 0);
    for (i, extra) in extras.iter().enumerate() {
        assert!(extra.ts.len() > 100 * 188, "extra-{i} got {} bytes", extra.ts.len());
        assert_eq!(support::ffmpeg_cc_failures(dir.path(), &format!("extra-{i}.ts"), &extra.ts), 0, "extra-{i}");
    }
    let dead = status.outputs.iter().find(|o| o.id == "dead-srt").unwrap();
    assert_ne!(dead.state, OutputState::Running);
    assert!(dead.errors > 0 && dead.last_error.is_some(), "{dead:?}");
}

/// Drops every cue.
struct DropAll;
impl CueFilter for DropAll {
    fn decide(&mut self, _: &[u8], _: &CueContext<'_>) -> CueOutcome {
        CueDecision::Drop.into()
    }
}

/// Replaces every cue with the first one seen.
struct Repeat(Option<Vec<u8>>);
impl CueFilter for Repeat {
    fn decide(&mut self, section: &[u8], context: &CueContext<'_>) -> CueOutcome {
        assert_eq!((context.pid, context.channel), (support::CUE_PID, "test"));
        CueDecision::Rewrite(self.0.get_or_insert_with(|| section.to_vec()).clone()).into()
    }
}

/// Each output's cue decisions are its own: one passes, one drops, one
/// rewrites, and each stays free of continuity failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cue_decisions_apply_per_output() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 4);
    let captures: Vec<_> = (0..3).map(|_| capture(false, Duration::from_secs(1))).collect();
    let filters: [Option<Box<dyn CueFilter>>; 3] = [None, Some(Box::new(DropAll)), Some(Box::new(Repeat(None)))];
    let outputs = captures
        .iter()
        .zip(["pass", "drop", "rewrite"])
        .zip(filters)
        .map(|(((to, _), id), cues)| (output(id, &format!("udp://{to}")), OutputPlugins { cues, ..Default::default() }))
        .collect();
    let channel = Channel::start(config("rtp://127.0.0.1:0", None, FailoverConfig::default()), outputs).await.unwrap();
    let sender = send_rtp(source.ts.clone(), channel.input_addresses()[0], Arc::new(AtomicBool::new(false)));
    let got: Vec<Vec<u8>> = tokio::task::spawn_blocking(move || {
        sender.join().unwrap();
        captures.into_iter().map(|(_, h)| h.join().unwrap().ts).collect()
    })
    .await
    .unwrap();
    let status = channel.status();
    assert!(got[0] == source.ts, "the pass-through output is bit-identical");
    let n = source.cues.len();
    let expected = [source.cues.clone(), vec![], vec![source.cues[0].clone(); n]];
    for ((name, ts), cues) in ["pass.ts", "drop.ts", "rewrite.ts"].iter().zip(&got).zip(expected) {
        assert_eq!(support::ffmpeg_cc_failures(dir.path(), name, ts), 0, "{name}");
        assert_eq!(support::threefive_cues(dir.path(), name), cues, "{name}");
    }
    let n = n as u64;
    assert_eq!(
        (status.scte35.cues, status.scte35.passed, status.scte35.dropped, status.scte35.rewritten),
        (n, n, n, n)
    );
}

/// SMPTE ST 2022-7 style: two copies of one RTP stream, each losing
/// different datagrams, merge into the whole stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lossy_copies_merge_into_the_whole_stream() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 3);
    let (out, out_capture) = capture(false, Duration::from_secs(1));
    let mut config = config("rtp://127.0.0.1:0", Some("rtp://127.0.0.1:0"), FailoverConfig::default());
    config.merge = true;
    let channel =
        Channel::start(config, vec![(output("out", &format!("udp://{out}")), OutputPlugins::default())]).await.unwrap();
    let [a, b] = [channel.input_addresses()[0], channel.input_addresses()[1]];
    // One copy loses every 10th datagram, the other every 10th from the 5th.
    let legs: Vec<support::Leg> = vec![(a, |i| i % 10 == 0), (b, |i| i % 10 == 5)];
    let sender = send_rtp_legs(source.ts.clone(), legs, Arc::new(AtomicBool::new(false)));
    let capture = tokio::task::spawn_blocking(move || {
        sender.join().unwrap();
        out_capture.join().unwrap()
    })
    .await
    .unwrap();
    let status = channel.status();
    assert!(capture.ts == source.ts, "merged: {} of {} bytes, or changed", capture.ts.len(), source.ts.len());
    assert!(status.merged && status.switches == 0, "{status:?}");
    // The second copy of each datagram sent twice was dropped.
    let rtp = status.inputs[0].rtp.unwrap();
    let twice = (0..source.ts.len().div_ceil(7 * 188)).filter(|i| i % 10 != 0 && i % 10 != 5).count() as u64;
    assert_eq!((rtp.lost, rtp.duplicates + rtp.late), (0, twice), "{status:?}");
    // Each leg's own continuity errors show its own losses.
    assert!(status.inputs.iter().all(|i| i.cc_errors > 0), "{status:?}");
    assert_eq!(status.outputs[0].cc_errors, 0);
    // A merge needs two RTP inputs.
    let mut bad = self::config("udp://127.0.0.1:0", Some("rtp://127.0.0.1:0"), FailoverConfig::default());
    bad.merge = true;
    let refused = Channel::start(bad, vec![]).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("two rtp:// inputs"), "{refused}");
}

/// A batched channel (20 ms) still delivers every byte, unchanged and in
/// order, to a UDP and an RTP output, with the SCTE-35 cues intact; its
/// datagrams go out many to a send (UDP GSO), the RTP ones numbered one
/// by one; and the input's end is still noticed, though nothing but the
/// channel's clock wakes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batched_channel_sends_the_same_bytes_in_fewer_sends() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 4);
    let (udp, udp_capture) = capture(false, Duration::from_secs(1));
    let (rtp, rtp_capture) = capture(true, Duration::from_secs(1));
    let mut config = config("rtp://127.0.0.1:0", None, FailoverConfig::default());
    config.batch = Duration::from_millis(20);
    let outputs = vec![
        (output("udp", &format!("udp://{udp}")), OutputPlugins::default()),
        (output("rtp", &format!("rtp://{rtp}")), OutputPlugins::default()),
    ];
    let channel = Channel::start(config, outputs).await.unwrap();
    send_all(&source, &channel).await;
    let (udp, rtp) =
        tokio::task::spawn_blocking(move || (udp_capture.join().unwrap(), rtp_capture.join().unwrap())).await.unwrap();
    let status = wait_for(&channel, "the input to fall silent", |s| s.inputs[0].state == InputState::Silent).await;
    assert!(udp.ts == source.ts, "udp: {} of {} bytes, or changed", udp.ts.len(), source.ts.len());
    assert!(rtp.ts == source.ts, "rtp: {} of {} bytes, or changed", rtp.ts.len(), source.ts.len());
    for (name, ts) in [("udp.ts", &udp.ts), ("rtp.ts", &rtp.ts)] {
        assert_eq!(support::ffmpeg_cc_failures(dir.path(), name, ts), 0, "{name}");
        assert_eq!(support::threefive_cues(dir.path(), name), source.cues, "{name}");
    }
    assert!(rtp.sequences.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "RTP sequence numbers one by one");
    // RTP timestamps spread over each batch, as if sent one by one: they
    // never go back, and almost no two are the same.
    let steps: Vec<i32> = rtp.timestamps.windows(2).map(|w| w[1].wrapping_sub(w[0]) as i32).collect();
    assert!(steps.iter().all(|s| (0..90 * 1000).contains(s)), "{steps:?}");
    assert!(steps.iter().filter(|s| **s == 0).count() < steps.len() / 20, "{steps:?}");
    for output in &status.outputs {
        let (datagrams, sends) = (output.datagrams.unwrap(), output.sends.unwrap());
        assert_eq!(datagrams, source.ts.len().div_ceil(7 * 188) as u64, "{output:?}");
        // 8 Mb/s is 15 datagrams in 20 ms; the first and last batches,
        // and timer jitter, make some smaller.
        assert!(sends * 5 < datagrams, "{} datagrams in {sends} sends", datagrams);
    }
}

/// A PID filter: the output keeps the video PID and the PSI, and its PMT
/// (rewritten) lists the video alone, so ffprobe finds only H.264 and no
/// continuity failure; the unfiltered output beside it is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pid_filter_keeps_its_streams_and_rewrites_the_pmt() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 3);
    let (pmt_pid, pmt) = stagebox_media::ts::Demuxer::new()
        .push(&source.ts)
        .into_iter()
        .find_map(|e| match e {
            stagebox_media::ts::Event::Pmt { pid, pmt } => Some((pid, pmt)),
            _ => None,
        })
        .unwrap();
    let video = pmt.streams.iter().find(|s| s.stream_type == 0x1b).unwrap().pid;
    assert_ne!(pmt.streams.len(), 1, "the source has more than video");
    let (filtered_to, filtered_capture) = capture(false, Duration::from_secs(1));
    let (all_to, all_capture) = capture(false, Duration::from_secs(1));
    let mut filtered = output("video-only", &format!("udp://{filtered_to}"));
    filtered.pids = Some([video].into());
    let outputs = vec![
        (filtered, OutputPlugins::default()),
        (output("all", &format!("udp://{all_to}")), OutputPlugins::default()),
    ];
    let channel = Channel::start(config("rtp://127.0.0.1:0", None, FailoverConfig::default()), outputs).await.unwrap();
    send_all(&source, &channel).await;
    let (filtered, all) =
        tokio::task::spawn_blocking(move || (filtered_capture.join().unwrap(), all_capture.join().unwrap()))
            .await
            .unwrap();
    assert!(all.ts == source.ts, "all: {} of {} bytes, or changed", all.ts.len(), source.ts.len());
    let pids: std::collections::BTreeSet<u16> =
        filtered.ts.chunks(188).map(|p| u16::from_be_bytes([p[1], p[2]]) & 0x1fff).collect();
    assert_eq!(pids, [0, stagebox_media::ts::SDT_PID, pmt_pid, video].into(), "PAT, SDT, PMT and video only");
    assert_eq!(support::ffmpeg_cc_failures(dir.path(), "video-only.ts", &filtered.ts), 0);
    // ffprobe lists each stream under its program and again on its own.
    let codecs: std::collections::BTreeSet<String> =
        support::ffprobe_codecs(dir.path(), "video-only.ts").into_iter().filter(|c| !c.is_empty()).collect();
    assert_eq!(codecs, ["h264".to_owned()].into(), "the PMT lists the video alone");
    // The video is all there: every packet of its PID, in order.
    let video_of = |ts: &[u8]| -> Vec<u8> {
        ts.chunks(188).filter(|p| u16::from_be_bytes([p[1], p[2]]) & 0x1fff == video).flatten().copied().collect()
    };
    assert!(video_of(&filtered.ts) == video_of(&source.ts), "the video PID's packets unchanged");
}

/// SRT the other way round: our listener feeds libsrt's caller
/// (`srt-live-transmit`), which gets every byte of a sustained 8 Mb/s;
/// our caller feeds ffmpeg listening, which reads the stream with no
/// continuity failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_listener_to_libsrt_and_caller_to_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let source = support::source(dir.path(), "testsrc", 5);
    let ffmpeg_port = free_port();
    let ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "debug", "-i"])
        .arg(format!("srt://127.0.0.1:{ffmpeg_port}?mode=listener&latency=120000"))
        .args(["-map", "0", "-c", "copy", "-f", "mpegts", "-y"])
        .arg(dir.path().join("ffmpeg.ts"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("ffmpeg.log")).unwrap())
        .spawn()
        .unwrap();
    let listener_port = free_port();
    let channel = Channel::start(
        config("rtp://127.0.0.1:0", None, FailoverConfig::default()),
        vec![
            (
                output("srt-listener", &format!("srt://127.0.0.1:{listener_port}?mode=listener&latency=120")),
                OutputPlugins::default(),
            ),
            // Our caller retries with back-off until ffmpeg listens.
            (output("srt-caller", &format!("srt://127.0.0.1:{ffmpeg_port}?latency=120")), OutputPlugins::default()),
        ],
    )
    .await
    .unwrap();
    wait_for(&channel, "the SRT listener listening", |s| {
        s.outputs.iter().any(|o| o.id == "srt-listener" && o.state == OutputState::Listening)
    })
    .await;
    let libsrt = srt_live_transmit(&format!("srt://127.0.0.1:{listener_port}?mode=caller&latency=120"), dir.path());
    wait_for(&channel, "both SRT outputs connected", |s| running(s, "srt-caller") && running(s, "srt-listener")).await;
    let sent = send_all(&source, &channel).await;
    assert_eq!(sent, source.ts.len().div_ceil(7 * 188));
    // What is still queued goes out before the connections close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = stop_and_reap(channel, vec![(libsrt, "srt-live-transmit"), (ffmpeg, "ffmpeg")]).await;
    let libsrt = std::fs::read(dir.path().join("libsrt.ts")).unwrap();
    assert!(libsrt == source.ts, "srt-live-transmit: {} of {} bytes, or changed", libsrt.len(), source.ts.len());
    ffmpeg_received_cleanly(dir.path());
    for o in &status.outputs {
        assert_eq!((o.dropped, o.cc_errors, o.errors), (0, 0, 0), "{o:?}");
    }
}
