//! Any text as SRT, WebVTT or SCC: reading never panics, what SRT and
//! WebVTT read always writes, and writing and reading back keeps every cue
//! and its times. (Text in malformed tags may be normalised on the way, so
//! the text is checked by the unit and reference tests, on real documents.)

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::captions::{TextFormat, read, write};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let format = match selector % 3 {
        0 => TextFormat::Srt,
        1 => TextFormat::WebVtt,
        _ => TextFormat::Scc,
    };
    let Ok(cues) = read(&text, format) else { return };
    if format != TextFormat::Scc {
        let once = read(&write(&cues, format).expect("text formats always write"), format).expect("what we write reads");
        let times = |c: &[stagebox_media::captions::Cue]| c.iter().map(|c| (c.start, c.end)).collect::<Vec<_>>();
        assert_eq!(times(&once), times(&cues));
    }
    // Writing SCC may refuse a cue (608 cannot show it), but never panics.
    let _ = write(&cues, TextFormat::Scc);
});
