//! Any bytes as H.264 access units and as ADTS AAC PES payloads for the
//! fMP4 tracks: they never panic, and every init segment and fragment
//! they write measures itself (its boxes' sizes add up to its length).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::fmp4::{AacTrack, AvcTrack};

/// Walks top-level boxes: each size at least its header and within the
/// buffer, and together exactly the buffer.
fn boxes_add_up(mut b: &[u8]) -> bool {
    while !b.is_empty() {
        let Some(size) = b.get(..4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize) else {
            return false;
        };
        if size < 8 || size > b.len() {
            return false;
        }
        b = &b[size..];
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let mut audio = AacTrack::new();
    let mut video = AvcTrack::new();
    let mut rest = data;
    let mut time = 0u64;
    // Units of up to 255 bytes; after each, sometimes a fragment.
    while let Some((&len, tail)) = rest.split_first() {
        let (unit, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        time += u64::from(len) * 1000;
        let _ = video.push(unit, time % (1 << 33), time.saturating_sub(3000) % (1 << 33));
        let _ = audio.push(unit, time % (1 << 33));
        if len % 7 == 0 {
            for f in [video.fragment(Some(time % (1 << 33))), audio.fragment()].into_iter().flatten() {
                assert!(boxes_add_up(&f));
            }
        }
    }
    let ends = [video.init_segment(), video.fragment(None), audio.init_segment(), audio.fragment()];
    for b in ends.into_iter().flatten() {
        assert!(boxes_add_up(&b));
    }
});
