//! Any bytes: parsing never panics, and whatever parses writes out and
//! reads back as the same section.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::scte35::SpliceInfoSection;

fuzz_target!(|data: &[u8]| {
    if let Ok(section) = SpliceInfoSection::parse(data) {
        let bytes = section.to_bytes().expect("a parsed section writes");
        let again = SpliceInfoSection::parse(&bytes).expect("a written section parses");
        assert_eq!(again, section);
        // Written once, the bytes are stable.
        assert_eq!(again.to_bytes().expect("writes again"), bytes);
    }
});
