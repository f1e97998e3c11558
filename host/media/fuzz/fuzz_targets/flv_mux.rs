//! Any bytes as H.264 access units and ADTS PES payloads for the FLV
//! muxer: it never panics, sends the AVC sequence header before any video
//! frame, and every tag body starts with the FLV codec byte of its kind.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::flv::{FlvMuxer, TagKind};

fuzz_target!(|data: &[u8]| {
    let mut muxer = FlvMuxer::new();
    let mut header_sent = false;
    let mut rest = data;
    let mut time = 0u64;
    while let Some((&control, tail)) = rest.split_first() {
        let (unit, next) = tail.split_at(usize::from(control & 0x7f).min(tail.len()));
        rest = next;
        time += 3600;
        let tags = if control & 0x80 != 0 {
            muxer.video(unit, time + 3600, time)
        } else {
            muxer.audio(unit, time)
        };
        for tag in tags.unwrap_or_default() {
            match tag.kind {
                TagKind::Video => {
                    assert!(tag.body[0] == 0x17 || tag.body[0] == 0x27);
                    if tag.body[1] == 0 {
                        header_sent = true;
                    } else {
                        assert!(header_sent, "a frame before the sequence header");
                    }
                }
                TagKind::Audio => assert_eq!(tag.body[0], 0xaf),
            }
        }
    }
});
