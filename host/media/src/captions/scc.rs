//! Scenarist SCC: lines of SMPTE timecode and CEA-608 byte pairs in hex,
//! at 29.97 frames per second. The first pair of a line goes out on the
//! line's frame and each further pair on the next frame, as a line-21
//! encoder sends them.

use super::cea608::{Cea608Decoder, Channel608};
use super::encode::{PADDING, control, encode_cea608};
use super::time::FrameRate;
use super::{CaptionError, Cue};
use cea608_types::tables::Control;

const HEADER: &str = "Scenarist_SCC V1.0";

/// One byte pair of an SCC file and the frame it goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SccPair {
    /// Frame number from timecode 00:00:00:00 at 30000/1001 fps.
    pub frame: u64,
    /// The pair as written (with parity).
    pub pair: [u8; 2],
}

fn syntax(line: usize, reason: impl Into<String>) -> CaptionError {
    CaptionError::Syntax { format: "SCC", line, reason: reason.into() }
}

/// Frame number of an SCC timecode: `hh:mm:ss:ff` is non-drop-frame,
/// `hh:mm:ss;ff` (or `.` or `,` before the frames) is drop-frame.
fn timecode_frame(tc: &str) -> Option<u64> {
    let bytes = tc.as_bytes();
    if bytes.len() != 11 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let drop = match bytes[8] {
        b':' => false,
        b';' | b'.' | b',' => true,
        _ => return None,
    };
    let field = |i: usize| -> Option<u64> {
        let t = tc.get(i..i + 2)?;
        t.bytes().all(|b| b.is_ascii_digit()).then(|| t.parse().ok())?
    };
    let (h, m, s, f) = (field(0)?, field(3)?, field(6)?, field(9)?);
    if m > 59 || s > 59 || f > 29 {
        return None;
    }
    let nominal = (h * 3600 + m * 60 + s) * 30 + f;
    if !drop {
        return Some(nominal);
    }
    // Drop-frame skips frames 0 and 1 of every minute but each tenth.
    if s == 0 && f < 2 && m % 10 != 0 {
        return None;
    }
    let minutes = h * 60 + m;
    Some(nominal - 2 * (minutes - minutes / 10))
}

/// The drop-frame SMPTE timecode label (`hh:mm:ss;ff`) of frame `n` at
/// 30000/1001 fps, as SCC writes it.
pub fn frame_timecode(n: u64) -> String {
    let (tens, rest) = (n / 17_982, n % 17_982);
    let skipped = 18 * tens + if rest < 2 { 0 } else { 2 * ((rest - 2) / 1_798) };
    let f = n + skipped;
    format!("{:02}:{:02}:{:02};{:02}", f / 108_000, f / 1_800 % 60, f / 30 % 60, f % 30)
}

/// Reads the byte pairs of an SCC document, each with its frame.
pub fn read_scc_pairs(text: &str) -> Result<Vec<SccPair>, CaptionError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}').trim()));
    match lines.next() {
        Some((_, HEADER)) => {}
        Some((n, other)) => return Err(syntax(n, format!("expected {HEADER:?}, found {other:?}"))),
        None => return Err(syntax(1, "empty document")),
    }
    let mut pairs = Vec::new();
    for (n, line) in lines {
        if line.is_empty() {
            continue;
        }
        let (tc, words) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let frame = timecode_frame(tc).ok_or_else(|| syntax(n, format!("bad timecode {tc:?}")))?;
        for (k, word) in words.split_whitespace().enumerate() {
            let value = (word.len() == 4 && word.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u16::from_str_radix(word, 16).ok())
                .flatten()
                .ok_or_else(|| syntax(n, format!("bad byte pair {word:?}")))?;
            pairs.push(SccPair { frame: frame + k as u64, pair: value.to_be_bytes() });
        }
    }
    Ok(pairs)
}

/// Decodes an SCC document's captions on `channel` (CC1 or CC2: SCC
/// carries field 1).
pub fn scc_cues(text: &str, channel: Channel608) -> Result<Vec<Cue>, CaptionError> {
    let rate = FrameRate::NTSC;
    let mut decoder = Cea608Decoder::new(channel);
    let mut cues = Vec::new();
    let mut last = 0;
    for p in read_scc_pairs(text)? {
        cues.extend(decoder.decode_pair(channel.field(), p.pair, rate.frame_start(p.frame)));
        last = last.max(p.frame + 1);
    }
    cues.extend(decoder.flush(rate.frame_start(last)));
    Ok(cues)
}

/// Writes cues as an SCC document of pop-on captions on `channel`, with
/// drop-frame timecode.
pub(crate) fn write(cues: &[Cue], channel: Channel608) -> Result<String, CaptionError> {
    let pairs = encode_cea608(cues, channel, 0, FrameRate::NTSC)?;
    let mut out = format!("{HEADER}\n\n");
    // A line runs until padding. EOC and EDM start lines of their own, so
    // each timecode that shows or clears a caption says so on its face,
    // and readers that time whole lines (as ffmpeg does) get it right.
    let (eoc, edm) = (control(channel, Control::EndOfCaption), control(channel, Control::EraseDisplayedMemory));
    let shows = |p: &[u8; 2]| *p == eoc || *p == edm;
    let mut frame = 0;
    while frame < pairs.len() {
        if pairs[frame] == PADDING {
            frame += 1;
            continue;
        }
        let mut run = 1;
        while frame + run < pairs.len()
            && pairs[frame + run] != PADDING
            && !(shows(&pairs[frame + run]) && pairs[frame + run] != pairs[frame + run - 1])
        {
            run += 1;
        }
        let words: Vec<String> =
            pairs[frame..frame + run].iter().map(|p| format!("{:02x}{:02x}", p[0], p[1])).collect();
        out.push_str(&format!("{}\t{}\n\n", frame_timecode(frame as u64), words.join(" ")));
        frame += run;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn drop_frame_timecode_both_ways() {
        for n in [0u64, 1, 1_799, 1_800, 17_981, 17_982, 107_892, 1_000_000] {
            assert_eq!(timecode_frame(&frame_timecode(n)), Some(n), "{n}: {}", frame_timecode(n));
        }
        assert_eq!(frame_timecode(1_800), "00:01:00;02");
        assert_eq!(timecode_frame("00:01:00;00"), None, "dropped frame numbers do not exist");
        assert_eq!(timecode_frame("00:00:01:00"), Some(30));
        assert_eq!(timecode_frame("01:00:00;00"), Some(107_892));
    }

    #[test]
    fn a_pop_on_caption() {
        let scc = "Scenarist_SCC V1.0\n\n00:00:01:00\t9420 9420 94ae 94ae 9470 9470 c845 4c4c 4f80 942f 942f\n\n00:00:03:00\t942c 942c\n";
        let cues = scc_cues(scc, Channel608::Cc1).unwrap();
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].text, "HELLO");
        let rate = FrameRate::NTSC;
        assert_eq!(cues[0].start, rate.frame_start(30 + 9));
        assert_eq!(cues[0].end, rate.frame_start(90));
    }

    #[test]
    fn bad_documents_name_the_line() {
        assert_eq!(
            scc_cues("WEBVTT\n", Channel608::Cc1),
            Err(syntax(1, "expected \"Scenarist_SCC V1.0\", found \"WEBVTT\""))
        );
        let bad_tc = "Scenarist_SCC V1.0\n\n00:00:0x:00\t9420\n";
        assert!(matches!(scc_cues(bad_tc, Channel608::Cc1), Err(CaptionError::Syntax { line: 3, .. })));
        let bad_word = "Scenarist_SCC V1.0\n\n00:00:01:00\t9420 94g0\n";
        assert!(matches!(scc_cues(bad_word, Channel608::Cc1), Err(CaptionError::Syntax { line: 3, .. })));
    }

    #[test]
    fn written_scc_reads_back() {
        let s = 1_000_000_000;
        let cues = vec![Cue::new(s, 3 * s, "One"), Cue::new(5 * s, 7 * s, "Two\nlines")];
        let scc = write(&cues, Channel608::Cc1).unwrap();
        let back = scc_cues(&scc, Channel608::Cc1).unwrap();
        let texts: Vec<_> = back.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["One", "Two\nlines"]);
        for (a, b) in cues.iter().zip(&back) {
            assert!(a.start.abs_diff(b.start) <= 17_000_000, "{a:?} {b:?}");
            assert!(a.end.abs_diff(b.end) <= 17_000_000, "{a:?} {b:?}");
        }
    }
}
