//! WebVTT (W3C): cues with timing, settings and a payload; NOTE, STYLE and
//! REGION blocks are skipped on reading.
//!
//! Positions map to the 15-row, 32-column 608 grid: `line:N` (an integer,
//! snapped to lines) is the row, `position:P%` the column, at 2.5% a column
//! from 10%, the 608 safe area.

use super::block::{blocks, numbered_lines, timing};
use super::style::{escape_vtt, has_tags, tidy, unescape_vtt};
use super::time::format_clock;
use super::{CaptionError, Cue};

fn syntax(line: usize, reason: impl Into<String>) -> CaptionError {
    CaptionError::Syntax { format: "WebVTT", line, reason: reason.into() }
}

fn column_to_position(column: u8) -> f64 {
    10.0 + f64::from(column) * 2.5
}

fn position_to_column(percent: f64) -> Option<u8> {
    let column = ((percent - 10.0) / 2.5).round();
    (0.0..=31.0).contains(&column).then_some(column as u8)
}

pub(crate) fn read(text: &str) -> Result<Vec<Cue>, CaptionError> {
    match numbered_lines(text).next() {
        Some((_, l)) if l == "WEBVTT" || l.starts_with("WEBVTT ") || l.starts_with("WEBVTT\t") => {}
        Some((n, l)) => return Err(syntax(n, format!("expected \"WEBVTT\", found {l:?}"))),
        None => return Err(syntax(1, "empty document")),
    }
    let mut cues = Vec::new();
    // The first block is the header.
    for (n, lines) in blocks(text).into_iter().skip(1) {
        let first = lines[0];
        if first.starts_with("NOTE") || first == "STYLE" || first == "REGION" {
            continue;
        }
        // An optional identifier before the timing line.
        let (n, timing_line, body) = if first.contains("-->") {
            (n, first, &lines[1..])
        } else {
            match lines.get(1) {
                Some(next) if next.contains("-->") => (n + 1, *next, &lines[2..]),
                _ => {
                    return Err(syntax(
                        n,
                        format!("{first:?} is neither a cue timing (start --> end) nor followed by one"),
                    ));
                }
            }
        };
        let (start, end, settings) = timing(timing_line, &['.']).map_err(|e| syntax(n, e))?;
        let (mut line, mut column) = (None, None);
        for setting in settings.split_whitespace() {
            match setting.split_once(':') {
                Some(("line", v)) => line = v.parse::<u8>().ok().filter(|l| *l < 15),
                Some(("position", v)) => {
                    column = v
                        .split(',')
                        .next()
                        .and_then(|p| p.strip_suffix('%'))
                        .and_then(|p| p.parse().ok())
                        .and_then(position_to_column)
                }
                _ => {}
            }
        }
        let raw = body.join("\n");
        let styled = has_tags(&raw);
        let text = if styled { raw.replace("&amp;", "&") } else { unescape_vtt(&raw) };
        cues.push(Cue { start, end, text, line, column, styled });
    }
    Ok(cues)
}

pub(crate) fn write(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues {
        out.push_str(&format!("{} --> {}", format_clock(cue.start, '.'), format_clock(cue.end, '.')));
        let settings = settings(cue);
        if !settings.is_empty() {
            out.push(' ');
            out.push_str(&settings);
        }
        out.push('\n');
        out.push_str(&payload(cue));
        out.push_str("\n\n");
    }
    out
}

/// A cue's settings (`line:13 position:25% align:start`), empty when the
/// source placed it nowhere.
pub fn settings(cue: &Cue) -> String {
    let mut out = Vec::new();
    if let Some(line) = cue.line {
        out.push(format!("line:{line}"));
    }
    if let Some(column) = cue.column {
        out.push(format!("position:{}% align:start", column_to_position(column)));
    }
    out.join(" ")
}

/// A cue's text as a WebVTT cue payload: escaped, style tags kept.
pub fn payload(cue: &Cue) -> String {
    escape_vtt(&tidy(&cue.text), cue.styled)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_and_writes() {
        let vtt = "WEBVTT - captions\nKind: captions\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\nid-1\n00:01.000 --> 00:02.500 line:13 position:25% align:start\nA &amp; B &lt;C&gt;\n\n01:00:00.000 --> 01:00:01.000\n<i>styled</i> &amp; more\n";
        let cues = read(vtt).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].text, "A & B <C>");
        assert_eq!((cues[0].line, cues[0].column), (Some(13), Some(6)));
        assert!(!cues[0].styled);
        assert_eq!(cues[1].start, 3_600_000_000_000);
        assert_eq!(cues[1].text, "<i>styled</i> & more");
        assert!(cues[1].styled);
        assert_eq!(read(&write(&cues)).unwrap(), cues);
    }

    #[test]
    fn errors_name_the_line() {
        assert!(matches!(read("WEBVT\n"), Err(CaptionError::Syntax { line: 1, .. })));
        assert!(matches!(read("WEBVTT\n\n00:01.000 --> 00:0x.000\nx\n"), Err(CaptionError::Syntax { line: 3, .. })));
        assert!(matches!(read("WEBVTT\n\nid\n"), Err(CaptionError::Syntax { line: 3, .. })));
    }
}
