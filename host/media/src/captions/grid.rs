//! What the 608 and 708 decoders share: a grid of styled character cells,
//! rendered into cue text with WebVTT-style tags, and the rule that turns a
//! changing display into cues.

use super::Cue;

/// A caption colour, by its WebVTT class name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Colour {
    White,
    Green,
    Blue,
    Cyan,
    Red,
    Yellow,
    Magenta,
    Black,
}

impl Colour {
    fn name(self) -> &'static str {
        match self {
            Colour::White => "white",
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Cyan => "cyan",
            Colour::Red => "red",
            Colour::Yellow => "yellow",
            Colour::Magenta => "magenta",
            Colour::Black => "black",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    pub(crate) italic: bool,
    pub(crate) underline: bool,
    pub(crate) color: Colour,
}

pub(crate) const PLAIN: Style = Style { italic: false, underline: false, color: Colour::White };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) ch: char,
    pub(crate) style: Style,
}

/// What a display shows, as a cue would carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Rendered {
    pub(crate) text: String,
    pub(crate) line: Option<u8>,
    pub(crate) column: Option<u8>,
    pub(crate) styled: bool,
}

impl Rendered {
    /// Puts `below` under this text (another window further down).
    pub(crate) fn append(&mut self, below: Rendered) {
        if below.text.is_empty() {
            return;
        }
        if self.text.is_empty() {
            *self = below;
            return;
        }
        self.text.push('\n');
        self.text.push_str(&below.text);
        self.styled |= below.styled;
    }
}

fn open_tags(line: &mut String, s: Style) {
    if s.color != Colour::White {
        line.push_str(&format!("<c.{}>", s.color.name()));
    }
    if s.italic {
        line.push_str("<i>");
    }
    if s.underline {
        line.push_str("<u>");
    }
}

fn close_tags(line: &mut String, s: Style) {
    if s.underline {
        line.push_str("</u>");
    }
    if s.italic {
        line.push_str("</i>");
    }
    if s.color != Colour::White {
        line.push_str("</c>");
    }
}

/// Renders rows of cells: blank rows are skipped, gaps inside a row become
/// spaces, and `line`/`column` are the first row and leftmost column used
/// (offset by `origin`, the grid's place on screen).
pub(crate) fn render<'a>(rows: impl Iterator<Item = &'a [Option<Cell>]>, origin: (usize, usize)) -> Rendered {
    let mut lines = Vec::new();
    let (mut first_row, mut first_col, mut styled) = (None, None::<usize>, false);
    for (r, row) in rows.enumerate() {
        let Some(start) = row.iter().position(Option::is_some) else { continue };
        let end = row.iter().rposition(Option::is_some).map_or(start, |e| e + 1);
        let mut line = String::new();
        let mut open = PLAIN;
        for cell in &row[start..end] {
            let cell = cell.unwrap_or(Cell { ch: ' ', style: open });
            if cell.style != open {
                close_tags(&mut line, open);
                open_tags(&mut line, cell.style);
                open = cell.style;
            }
            line.push(cell.ch);
        }
        close_tags(&mut line, open);
        let trimmed = line.trim_end().to_string();
        if trimmed.trim().is_empty() {
            continue;
        }
        styled |= trimmed.contains('<');
        first_row.get_or_insert((origin.0 + r).min(255) as u8);
        first_col = Some(first_col.map_or(start, |c| c.min(start)));
        lines.push(trimmed);
    }
    Rendered {
        text: lines.join("\n"),
        line: first_row,
        column: first_col.map(|c| (origin.1 + c).min(255) as u8),
        styled,
    }
}

/// Turns a display that changes over time into cues. A cue starts when text
/// appears and ends when the display changes in any other way; when text
/// `grows` in place (roll-up, paint-on), appended characters extend the
/// current cue instead of starting a new one.
#[derive(Debug, Default)]
pub(crate) struct CueTracker {
    current: Option<(u64, Rendered)>,
}

impl CueTracker {
    /// The display now shows `now`, as of `pts`.
    pub(crate) fn update(&mut self, now: Rendered, grows: bool, pts: u64, out: &mut Vec<Cue>) {
        match &mut self.current {
            Some((_, shown)) if *shown == now => {}
            Some((_, shown)) if grows && !shown.text.is_empty() && now.text.starts_with(&shown.text) => *shown = now,
            _ => {
                if let Some((start, shown)) = self.current.take()
                    && !shown.text.is_empty()
                {
                    out.push(cue(start, pts, shown));
                }
                self.current = Some((pts, now));
            }
        }
    }

    /// Ends the cue on screen at `pts`; what is shown (`now`) starts again.
    pub(crate) fn flush(&mut self, now: Rendered, pts: u64, out: &mut Vec<Cue>) {
        if let Some((start, shown)) = self.current.take()
            && !shown.text.is_empty()
        {
            out.push(cue(start, pts.max(start), shown));
        }
        self.current = Some((pts, now));
    }
}

fn cue(start: u64, end: u64, r: Rendered) -> Cue {
    Cue { start, end, text: r.text, line: r.line, column: r.column, styled: r.styled }
}
