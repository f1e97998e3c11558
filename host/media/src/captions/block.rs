//! What SRT and WebVTT share: blocks of lines separated by blank lines, and
//! the `start --> end` timing line.

use super::time::parse_clock;

/// The lines of a document, numbered from 1, without a BOM or CR line ends.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.trim_start_matches('\u{feff}').lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
}

/// The runs of lines that are not blank (empty or white space), each with
/// the number of its first line.
pub(crate) fn blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut out: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut in_block = false;
    for (n, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            in_block = false;
        } else if in_block && let Some((_, lines)) = out.last_mut() {
            lines.push(line);
        } else {
            out.push((n, vec![line]));
            in_block = true;
        }
    }
    out
}

/// Reads `start --> end[ settings]` with `separators` allowed before the
/// milliseconds: the times in ns and the rest of the line after the end
/// time. The error says what is wrong, for the caller to place.
pub(crate) fn timing<'a>(line: &'a str, separators: &[char]) -> Result<(u64, u64, &'a str), String> {
    let (a, rest) = line.split_once("-->").ok_or_else(|| format!("expected a timing line, found {line:?}"))?;
    let rest = rest.trim_start();
    let (b, settings) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let clock = |t: &str| separators.iter().find_map(|sep| parse_clock(t, *sep));
    let start = clock(a).ok_or_else(|| format!("bad start time {:?}", a.trim()))?;
    let end = clock(b).ok_or_else(|| format!("bad end time {b:?}"))?;
    if end < start {
        return Err("cue ends before it starts".into());
    }
    Ok((start, end, settings))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn blocks_and_timings() {
        let text = "\u{feff}a\r\nb\r\n \r\n\r\nc\n";
        assert_eq!(blocks(text), vec![(1, vec!["a", "b"]), (5, vec!["c"])]);
        assert_eq!(timing("00:01.000 --> 00:02.000 line:3", &['.']), Ok((1_000_000_000, 2_000_000_000, "line:3")));
        assert_eq!(timing("00:01,000 -->00:02.000", &[',', '.']), Ok((1_000_000_000, 2_000_000_000, "")));
        assert_eq!(timing("00:02.000 --> 00:01.000", &['.']), Err("cue ends before it starts".into()));
    }
}
