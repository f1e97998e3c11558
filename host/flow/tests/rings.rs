//! Writing and reading grains and samples through the shared-memory rings.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod common;

use common::*;
use stagebox_flow::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[test]
fn grains_round_trip_and_age_out() {
    let (_dir, domain) = domain();
    let desc = video(1280, 720, 50);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let reader = domain.open_discrete(desc.id()).unwrap();
    let g = writer.grain_count();
    assert_eq!(g, 10, "200 ms of 50 Hz, as libmxl sizes it");
    for i in 100..100 + g + 3 {
        let mut grain = writer.grant(i).unwrap();
        fill(grain.payload_mut(), i);
        grain.commit().unwrap();
    }
    let head = 100 + g + 2;
    assert_eq!(reader.head_index(), head);
    for i in head + 1 - g..=head {
        let view = reader.get(i).unwrap();
        assert!(matches(view.payload(), i), "grain {i}");
        assert!(view.is_complete() && !view.is_invalid());
        assert_eq!(view.timestamp_tai_ns(), index_to_timestamp(i, rate(50, 1)));
        view.check().unwrap();
    }
    assert_eq!(reader.get(head + 1 - g - 1).err(), Some(ReadError::TooLate { index: head - g, head }));
    assert_eq!(reader.get(head + 1).err(), Some(ReadError::TooEarly { index: head + 1, head }));
    assert_eq!(reader.latest().unwrap().index(), head);
}

#[test]
fn partial_grains_commit_slice_by_slice() {
    let (_dir, domain) = domain();
    let desc = video(1920, 1080, 25);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let reader = domain.open_discrete(desc.id()).unwrap();
    let mut grain = writer.grant(5).unwrap();
    grain.payload_mut()[..5120 * 10].fill(7);
    grain.commit_slices(10).unwrap();
    assert!(matches!(reader.get(5), Err(ReadError::TooEarly { .. })), "incomplete grain is not complete");
    let part = reader.get_slices(5, 10).unwrap();
    assert_eq!((part.valid_slices(), part.total_slices()), (10, 1080));
    assert!(part.payload()[..5120 * 10].iter().all(|b| *b == 7));
    assert!(matches!(grain.commit_slices(1081), Err(FlowError::InvalidArgument(_))));
    grain.commit().unwrap();
    assert!(reader.get(5).unwrap().is_complete());
}

#[test]
fn cancelled_and_invalid_grains() {
    let (_dir, domain) = domain();
    let desc = video(640, 360, 50);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let reader = domain.open_discrete(desc.id()).unwrap();
    writer.grant(1).unwrap().commit().unwrap();
    writer.grant(2).unwrap().cancel();
    assert!(matches!(reader.get(2), Err(ReadError::TooEarly { .. })));
    writer.grant(3).unwrap().commit_invalid();
    let view = reader.get(3).unwrap();
    assert!(view.is_invalid());
    assert_eq!(view.valid_slices(), 0);
}

#[test]
fn variable_size_grains_carry_length_and_timestamp() {
    let (_dir, domain) = domain();
    let desc = mux(7 * 188);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let reader = domain.open_discrete(desc.id()).unwrap();
    let mut grain = writer.grant(1).unwrap();
    grain.payload_mut()[..376].fill(0x47);
    grain.set_len(376).unwrap();
    grain.set_timestamp(123_456_789);
    assert!(matches!(grain.set_len(7 * 188 + 1), Err(FlowError::InvalidArgument(_))));
    grain.commit().unwrap();
    let view = reader.get(1).unwrap();
    assert_eq!(view.payload().len(), 376);
    assert_eq!(view.timestamp_tai_ns(), 123_456_789);
    // Fixed-size flows have no per-grain length.
    let mut video_writer = domain.create_discrete(&video(64, 4, 50)).unwrap();
    assert!(matches!(video_writer.grant(0).unwrap().set_len(3), Err(FlowError::InvalidArgument(_))));
}

#[test]
fn wait_sleeps_until_the_writer_commits() {
    let (_dir, domain) = domain();
    let desc = video(320, 180, 50);
    let mut writer = domain.create_discrete(&desc).unwrap();
    let reader_domain = domain.clone();
    let id = desc.id();
    let ready = Arc::new(Barrier::new(2));
    let r = ready.clone();
    let waiter = std::thread::spawn(move || {
        let reader = reader_domain.open_discrete(id).unwrap();
        r.wait();
        let view = reader.wait(42, Duration::from_secs(10)).map(|v| (v.index(), matches(v.payload(), 42)));
        (view, Instant::now())
    });
    ready.wait();
    let mut grain = writer.grant(42).unwrap();
    fill(grain.payload_mut(), 42);
    let committed = Instant::now();
    grain.commit().unwrap();
    let (view, woke) = waiter.join().unwrap();
    assert_eq!(view, Ok((42, true)));
    assert!(woke >= committed);
}

#[test]
fn wait_times_out_with_too_early_while_the_writer_lives() {
    let (_dir, domain) = domain();
    let desc = video(320, 180, 50);
    let _writer = domain.create_discrete(&desc).unwrap();
    let reader = domain.open_discrete(desc.id()).unwrap();
    let started = Instant::now();
    assert!(matches!(reader.wait(1, Duration::from_millis(250)), Err(ReadError::TooEarly { index: 1, .. })));
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(reader.status(), FlowStatus::Live);
}

#[test]
fn audio_windows_wrap_around_the_ring() {
    let (_dir, domain) = domain();
    let desc = audio(2);
    let mut writer = domain.create_continuous(&desc).unwrap();
    let reader = domain.open_continuous(desc.id()).unwrap();
    let l = writer.buffer_length();
    assert_eq!(l, 19456, "libmxl's ring for 48 kHz float32 and 200 ms");
    assert!(writer.grant(480, 0).is_err());
    assert!(writer.grant(l, l / 2 + 1).is_err());
    // Write 480-sample blocks until well past one lap of the ring.
    let block = 480u64;
    let sample = |ch: u32, j: u64| (j as f32) * if ch == 0 { 1.0 } else { -1.0 };
    let mut end = 0;
    while end < 3 * l {
        end += block;
        let mut w = writer.grant(end, block).unwrap();
        for ch in 0..2 {
            let samples: Vec<f32> = (end - block + 1..=end).map(|j| sample(ch, j)).collect();
            w.write_f32(ch, &samples).unwrap();
        }
        w.commit();
    }
    assert_eq!(reader.head_index(), end);
    // A window that straddles the ring's end comes back in two fragments.
    let last = (end / l) * l + 100;
    let view = reader.get(last, 300).unwrap();
    let (a, b) = view.channel(1).unwrap();
    assert_eq!((a.len() / 4, b.len() / 4), (200, 100));
    let mut out = Vec::new();
    view.read_f32(1, &mut out).unwrap();
    assert_eq!(out, (last - 299..=last).map(|j| sample(1, j)).collect::<Vec<_>>());
    assert!(view.channel(2).is_none());
    assert!(matches!(reader.get(end + 1, 1), Err(ReadError::TooEarly { .. })));
    assert!(matches!(reader.get(end - l / 2, 10), Err(ReadError::TooLate { .. })));
    assert!(matches!(reader.get(end, l / 2 + 1), Err(ReadError::TooLate { .. })));
}

/// A writer races readers over a two-grain ring. Every read that passes the
/// generation check must carry exactly its grain's bytes; every torn read
/// must be caught by it.
#[test]
fn torn_reads_are_always_detected() {
    let (_dir, domain) = domain_with(DomainOptions { history: Duration::from_millis(20), ..Default::default() });
    let desc = video(1920, 64, 100); // 327,680-byte grains, 2 in the ring
    let mut writer = domain.create_discrete(&desc).unwrap();
    assert_eq!(writer.grain_count(), 2);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (domain, stop, id) = (domain.clone(), stop.clone(), desc.id());
        readers.push(std::thread::spawn(move || {
            let reader = domain.open_discrete(id).unwrap();
            let (mut intact, mut caught, mut missed) = (0u64, 0u64, 0u64);
            let mut copy = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let Ok(view) = reader.latest() else { continue };
                let index = view.index();
                // Read straight from shared memory, then ask whether it held.
                let good = matches(view.payload(), index);
                match view.check() {
                    Ok(()) => {
                        assert!(good, "grain {index} passed the check but its bytes are not its own");
                        intact += 1;
                    }
                    Err(ReadError::TooLate { .. }) => {
                        caught += u64::from(!good);
                        missed += 1;
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
                if view.copy_into(&mut copy).is_ok() {
                    assert!(matches(&copy, index), "copied grain {index} is torn");
                }
            }
            (intact, caught, missed)
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut i = 1;
    while i <= 20_000 && Instant::now() < deadline {
        let mut g = writer.grant(i).unwrap();
        fill(g.payload_mut(), i);
        g.commit().unwrap();
        written.store(i, Ordering::Relaxed);
        i += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total_intact = 0;
    for r in readers {
        let (intact, caught, missed) = r.join().unwrap();
        eprintln!("reader: {intact} intact, {missed} overwritten during the read ({caught} of them visibly torn)");
        total_intact += intact;
    }
    assert!(total_intact > 0, "readers read nothing intact");
    assert!(written.load(Ordering::Relaxed) > 100);
}
