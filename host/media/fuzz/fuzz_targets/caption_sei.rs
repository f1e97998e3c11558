//! Any bytes as an H.264 access unit: SEI parsing never panics and gives
//! whole triplets; any triplets put into an SEI (after the AUD of the same
//! bytes) come back out exactly, whatever the escaping needed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::captions::sei::{a53_sei_nal, cc_data_from_h264, insert_sei};

fuzz_target!(|data: &[u8]| {
    let found = cc_data_from_h264(data);
    assert_eq!(found.len() % 3, 0);

    let triplets = &data[..(data.len() / 3).min(31) * 3];
    let au = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88];
    let with = insert_sei(&au, &a53_sei_nal(triplets));
    assert_eq!(cc_data_from_h264(&with), triplets);
});
