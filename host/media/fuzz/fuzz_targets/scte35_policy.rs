//! Any bytes through the default policy and a rewriting one: no panic, and
//! a rewrite is always a valid section.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::scte35::SpliceInfoSection;
use stagebox_media::scte35::policy::{Decision, Policy, StreamContext};

fuzz_target!(|data: &[u8]| {
    let ctx = StreamContext { pts: 1 << 32, wall_clock_tai_ns: 1_800_000_000_000_000_000 };
    let plain = Policy::from_json("").expect("default config");
    let _ = plain.on_section(data, &ctx);
    let rewrite = Policy::from_json(r#"{"default": {"rewrite": {"remove_descriptor_tags": [0, 2], "pts_adjustment": 8589934591}}}"#)
        .expect("rewrite config");
    if let Ok(out) = rewrite.on_section(data, &ctx) {
        if let Decision::Rewrite(bytes) = out.decision {
            SpliceInfoSection::parse(&bytes).expect("a rewritten section parses");
        }
    }
});
