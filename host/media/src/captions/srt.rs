//! SubRip (SRT): numbered blocks of `start --> end` and text.

use super::style::{has_tags, srt_to_vtt, tidy, vtt_to_srt};
use super::time::{format_clock, parse_clock};
use super::{CaptionError, Cue};

fn syntax(line: usize, reason: impl Into<String>) -> CaptionError {
    CaptionError::Syntax { format: "SRT", line, reason: reason.into() }
}

/// Parses `start --> end`, returning ns.
fn timing(line: &str, n: usize) -> Result<(u64, u64), CaptionError> {
    let (a, b) = line.split_once("-->").ok_or_else(|| syntax(n, format!("expected a timing line, found {line:?}")))?;
    // Some writers append position hints (X1:…) after the end time.
    let b = b.split_whitespace().next().unwrap_or("");
    let start = parse_clock(a, ',')
        .or_else(|| parse_clock(a, '.'))
        .ok_or_else(|| syntax(n, format!("bad start time {:?}", a.trim())))?;
    let end =
        parse_clock(b, ',').or_else(|| parse_clock(b, '.')).ok_or_else(|| syntax(n, format!("bad end time {b:?}")))?;
    if end < start {
        return Err(syntax(n, "cue ends before it starts"));
    }
    Ok((start, end))
}

pub(crate) fn read(text: &str) -> Result<Vec<Cue>, CaptionError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut cues = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).peekable();
    loop {
        // Skip blank lines between blocks.
        while lines.next_if(|(_, l)| l.trim().is_empty()).is_some() {}
        let Some((n, first)) = lines.next() else { break };
        // The counter line is optional in practice; a timing line may come first.
        let (n, timing_line) = if first.contains("-->") {
            (n, first)
        } else {
            if !first.trim().bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax(n, format!("expected a cue number, found {first:?}")));
            }
            lines.next().ok_or_else(|| syntax(n + 1, "document ends after a cue number"))?
        };
        let (start, end) = timing(timing_line, n)?;
        let mut body = Vec::new();
        while let Some((_, l)) = lines.next_if(|(_, l)| !l.trim().is_empty()) {
            body.push(l);
        }
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
