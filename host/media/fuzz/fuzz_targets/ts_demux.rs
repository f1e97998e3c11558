//! Any bytes, in chunks of any size: the transport stream demuxer never
//! panics, accounts for every byte, and reading the bytes in one go or in
//! pieces finds the same things.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::ts::{Demuxer, PACKET_SIZE};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else { return };
    let mut whole = Demuxer::new();
    let mut expected = whole.push(data);
    expected.extend(whole.finish());
    let stats = whole.stats();
    assert!(stats.packets as usize * PACKET_SIZE + stats.skipped_bytes as usize <= data.len());

    let mut pieces = Demuxer::new();
    let mut found = Vec::new();
    for piece in data.chunks(usize::from(chunk).max(1)) {
        found.extend(pieces.push(piece));
    }
    found.extend(pieces.finish());
    assert_eq!(found, expected);
    assert_eq!(pieces.stats(), stats);
});
