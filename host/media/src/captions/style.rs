//! Style tags in cue text: the WebVTT subset captions use (`<i>`, `<u>`,
//! `<b>`, `<c.colour>`), and their SRT spelling.

/// Removes every `<...>` tag.
pub(crate) fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `text` holds a tag of the subset.
pub(crate) fn has_tags(text: &str) -> bool {
    ["<i>", "<u>", "<b>", "<c."].iter().any(|t| text.contains(t))
}

/// SRT's `<font color="x">…</font>` as WebVTT `<c.x>…</c>`; `<i>`, `<u>`
/// and `<b>` are spelled alike. Other `<font>` attributes and ASS override
/// blocks (`{\an7}`), which some SRT writers add, are dropped.
pub(crate) fn srt_to_vtt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // For each open <font>: whether it became a <c.x>.
    let mut fonts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['<', '{']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with("{\\") {
            match rest.find('}') {
                Some(close) => rest = &rest[close + 1..],
                None => break,
            }
            continue;
        }
        if rest.starts_with('{') {
            out.push('{');
            rest = &rest[1..];
            continue;
        }
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[1..close];
        let lower = tag.to_ascii_lowercase();
        if let Some(attrs) = lower.strip_prefix("font") {
            match attrs.split_once("color=") {
                Some((_, value)) => {
                    let colour = value.split_whitespace().next().unwrap_or("").trim_matches(|c| c == '"' || c == '\'');
                    out.push_str(&format!("<c.{colour}>"));
                    fonts.push(true);
                }
                None => fonts.push(false),
            }
        } else if lower == "/font" {
            if fonts.pop().unwrap_or(false) {
                out.push_str("</c>");
            }
        } else {
            out.push_str(&rest[..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// WebVTT `<c.x>…</c>` as SRT `<font color="x">…</font>`.
pub(crate) fn vtt_to_srt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("<c") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(close) = rest.find('>') else { break };
        match rest[..close].strip_prefix("<c.") {
            Some(class) => out.push_str(&format!("<font color=\"{}\">", class.split('.').next().unwrap_or(class))),
            None => out.push_str("<font>"),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out.replace("</c>", "</font>")
}

/// Drops lines that are empty or only white space: in SRT and WebVTT a
/// blank line ends the cue, so a cue's text cannot hold one.
pub(crate) fn tidy(text: &str) -> String {
    text.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

/// Escapes `&`, `<` and `>` for a WebVTT payload, keeping tags of the
/// subset when `styled`.
pub(crate) fn escape_vtt(text: &str, styled: bool) -> String {
    // A no-break space is white space to readers looking for the blank
    // line that ends a cue, so it travels as a reference.
    let escaped = text.replace('&', "&amp;").replace('\u{a0}', "&nbsp;");
    if styled {
        return escaped;
    }
    escaped.replace('<', "&lt;").replace('>', "&gt;")
}

/// Undoes WebVTT's character references.
pub(crate) fn unescape_vtt(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lrm;", "\u{200e}")
        .replace("&rlm;", "\u{200f}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_convert_both_ways() {
        let srt = "<i>a</i> <font color=\"yellow\">b</font>";
        let vtt = srt_to_vtt(srt);
        assert_eq!(vtt, "<i>a</i> <c.yellow>b</c>");
        assert_eq!(vtt_to_srt(&vtt), srt);
        assert_eq!(strip_tags(&vtt), "a b");
        assert_eq!(srt_to_vtt("<font face=\"Monospace\">{\\an7}<i>x</i> {y}</font>"), "<i>x</i> {y}");
        assert!(has_tags(&vtt));
        assert_eq!(unescape_vtt(&escape_vtt("a<b&c", false)), "a<b&c");
    }
}
