//! Any cc_data: the 608 decoder never panics, cues never end before they
//! start, and every pair is either decoded, skipped or counted.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::captions::{Cea608Decoder, Channel608};

fuzz_target!(|data: &[u8]| {
    let channel = match data.first().map(|b| b & 3) {
        Some(0) | None => Channel608::Cc1,
        Some(1) => Channel608::Cc2,
        Some(2) => Channel608::Cc3,
        _ => Channel608::Cc4,
    };
    let mut decoder = Cea608Decoder::new(channel);
    let mut pts = 0u64;
    for frame in data.get(1..).unwrap_or_default().chunks(6) {
        for cue in decoder.decode_cc(frame, pts) {
            assert!(cue.start <= cue.end && cue.end <= pts);
        }
        pts += 33_366_667;
    }
    for cue in decoder.flush(pts) {
        assert!(cue.start <= cue.end);
    }
});
