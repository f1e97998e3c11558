//! SubRip (SRT): numbered blocks of `start --> end` and text.

use super::block::{blocks, timing};
use super::style::{has_tags, srt_to_vtt, tidy, vtt_to_srt};
use super::time::format_clock;
use super::{CaptionError, Cue};

fn syntax(line: usize, reason: impl Into<String>) -> CaptionError {
    CaptionError::Syntax { format: "SRT", line, reason: reason.into() }
}

pub(crate) fn read(text: &str) -> Result<Vec<Cue>, CaptionError> {
    let mut cues = Vec::new();
    for (n, lines) in blocks(text) {
        // The counter line is optional in practice; a timing line may come first.
        let (n, timing_line, body) = if lines[0].contains("-->") {
            (n, lines[0], &lines[1..])
        } else {
            if !lines[0].trim().bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax(n, format!("expected a cue number, found {:?}", lines[0])));
            }
            let timing_line =
                lines.get(1).ok_or_else(|| syntax(n + 1, "a cue number must be followed by its timing"))?;
            (n + 1, *timing_line, &lines[2..])
        };
        // Some writers append position hints (X1:…) after the end time.
        let (start, end, _hints) = timing(timing_line, &[',', '.']).map_err(|e| syntax(n, e))?;
        let text = tidy(&srt_to_vtt(&body.join("\n")));
        let styled = has_tags(&text);
        cues.push(Cue { start, end, text, line: None, column: None, styled });
    }
    Ok(cues)
}

pub(crate) fn write(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        let text = tidy(&if cue.styled { vtt_to_srt(&cue.text) } else { cue.text.clone() });
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            format_clock(cue.start, ','),
            format_clock(cue.end, ','),
            text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_and_writes() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n<i>there</i>\r\n\r\n2\n00:01:00,000 --> 00:01:01,000 X1:10\n<font color=\"red\">Red</font>\n";
        let cues = read(srt).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start, cues[0].end), (1_000_000_000, 2_500_000_000));
        assert_eq!(cues[0].text, "Hello\n<i>there</i>");
        assert_eq!(cues[1].text, "<c.red>Red</c>");
        assert!(cues[1].styled);
        let again = read(&write(&cues)).unwrap();
        assert_eq!(again, cues);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            read("1\n00:00:01,000 -> 00:00:02,000\nx\n"),
            Err(syntax(2, "expected a timing line, found \"00:00:01,000 -> 00:00:02,000\""))
        );
        assert!(matches!(read("1\n00:00:61,000 --> 00:00:62,000\nx\n"), Err(CaptionError::Syntax { line: 2, .. })));
        assert!(matches!(read("x\n"), Err(CaptionError::Syntax { line: 1, .. })));
        assert!(matches!(read("1\n00:00:02,000 --> 00:00:01,000\n"), Err(CaptionError::Syntax { line: 2, .. })));
    }
}
