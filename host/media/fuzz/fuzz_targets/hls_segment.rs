//! Any bytes as a transport stream for the HLS segmenter, arriving in
//! chunks of any size: it never panics, numbers its segments 0, 1, 2, …,
//! and gives each a finite duration of at least 0 and whole 188-byte
//! packets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::hls::Segmenter;

fuzz_target!(|data: &[u8]| {
    let Some((&target, mut rest)) = data.split_first() else { return };
    let mut segmenter = Segmenter::new(f64::from(target) / 32.0);
    let mut segments = Vec::new();
    let mut time = 0;
    while let Some((&len, tail)) = rest.split_first() {
        // Chunks of up to 255 × 188 bytes, or cut anywhere.
        let size = if len & 0x80 == 0 { usize::from(len) * 188 } else { usize::from(len & 0x7f) };
        let (chunk, next) = tail.split_at(size.min(tail.len()));
        rest = next;
        time += 1;
        segments.extend(segmenter.push(chunk, time));
    }
    segments.extend(segmenter.finish());
    for (n, s) in segments.iter().enumerate() {
        assert_eq!(s.sequence, n as u64);
        assert!(s.duration.is_finite() && s.duration >= 0.0, "{}", s.duration);
        assert_eq!(s.bytes.len() % 188, 0);
    }
});
