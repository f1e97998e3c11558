//! Any bytes as a transport stream for the HLS segmenter and the CMAF
//! cutter, arriving in chunks of any size: neither panics; the segmenter
//! numbers its segments 0, 1, 2, …, and gives each a finite duration of
//! at least 0 and whole 188-byte packets; each CMAF segment is one `moof`
//! and one `mdat` that measure themselves, its video and audio numbered
//! in order.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::cmaf::{Cutter, Media};
use stagebox_media::hls::Segmenter;

/// `moof` then `mdat`, whose sizes add up to the fragment's length.
fn moof_mdat(b: &[u8]) -> bool {
    let size = |b: &[u8]| b.get(..4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
    let Some(moof) = size(b).filter(|n| *n >= 8 && *n <= b.len() && &b[4..8] == b"moof") else { return false };
    let rest = &b[moof..];
    size(rest).is_some_and(|n| n == rest.len() && n >= 8 && &rest[4..8] == b"mdat")
}

fuzz_target!(|data: &[u8]| {
    let Some((&target, mut rest)) = data.split_first() else { return };
    let mut segmenter = Segmenter::new(f64::from(target) / 32.0);
    let mut cutter = Cutter::new(f64::from(target) / 32.0);
    let mut segments = Vec::new();
    let mut cmaf = Vec::new();
    let mut time = 0;
    while let Some((&len, tail)) = rest.split_first() {
        // Chunks of up to 255 × 188 bytes, or cut anywhere.
        let size = if len & 0x80 == 0 { usize::from(len) * 188 } else { usize::from(len & 0x7f) };
        let (chunk, next) = tail.split_at(size.min(tail.len()));
        rest = next;
        time += 1;
        segments.extend(segmenter.push(chunk, time));
        cmaf.extend(cutter.push(chunk, time));
    }
    segments.extend(segmenter.finish());
    cmaf.extend(cutter.finish());
    for media in [Media::Video, Media::Audio] {
        let track: Vec<_> = cmaf.iter().filter(|s| s.media == media).collect();
        assert!(track.windows(2).all(|w| w[0].sequence <= w[1].sequence));
        assert!(track.iter().all(|s| moof_mdat(&s.bytes)));
    }
    for (n, s) in segments.iter().enumerate() {
        assert_eq!(s.sequence, n as u64);
        assert!(s.duration.is_finite() && s.duration >= 0.0, "{}", s.duration);
        assert_eq!(s.bytes.len() % 188, 0);
    }
});
