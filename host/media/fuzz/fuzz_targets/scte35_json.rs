//! Any JSON text: reading never panics, and a section that writes reads
//! back as itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::scte35::SpliceInfoSection;

fuzz_target!(|data: &[u8]| {
    let Ok(section) = serde_json::from_slice::<SpliceInfoSection>(data) else { return };
    if let Ok(bytes) = section.to_bytes() {
        let again = SpliceInfoSection::parse(&bytes).expect("a written section parses");
        assert_eq!(again.to_bytes().expect("writes again"), bytes);
    }
});
