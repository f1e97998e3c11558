//! Any cc_data: the 708 decoder (and the `cea708-types` parser under it)
//! never panics, and cues never end before they start.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::captions::Cea708Decoder;

fuzz_target!(|data: &[u8]| {
    let service = data.first().map_or(1, |b| (b & 0x3f).max(1));
    let mut decoder = Cea708Decoder::new(service);
    let mut pts = 0u64;
    // Frames of up to 20 triplets, as 29.97 fps video carries.
    for frame in data.get(1..).unwrap_or_default().chunks(60) {
        for cue in decoder.decode_cc(frame, pts) {
            assert!(cue.start <= cue.end && cue.end <= pts);
        }
        pts += 33_366_667;
    }
    for cue in decoder.flush(pts) {
        assert!(cue.start <= cue.end);
    }
});
