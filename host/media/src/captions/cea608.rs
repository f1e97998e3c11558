//! CEA-608 decoding: byte pairs to cues, through the caption display model
//! of ANSI/CTA-608-E (displayed and non-displayed memories, a cursor, a
//! roll-up window).
//!
//! Cue timing: a cue starts when text appears on the display and ends when
//! the display changes in any other way. In roll-up and paint-on modes,
//! characters appended to what is shown extend the current cue rather than
//! starting a new one, so a roll-up line becomes one cue per scroll, not one
//! per character.

use super::Cue;
use super::grid::{self, Cell, Colour, CueTracker, PLAIN, Rendered, Style};
use cea608_types::tables::{Channel, Color};
use cea608_types::{Cea608, Cea608State, Mode};
use serde::{Deserialize, Serialize};

const ROWS: usize = 15;
const COLUMNS: usize = 32;

/// A CEA-608 caption channel: CC1 and CC2 are on field 1, CC3 and CC4 on
/// field 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel608 {
    /// Field 1, data channel 1: the primary captions.
    #[default]
    Cc1,
    /// Field 1, data channel 2.
    Cc2,
    /// Field 2, data channel 1.
    Cc3,
    /// Field 2, data channel 2.
    Cc4,
}

impl Channel608 {
    /// 0 for field 1, 1 for field 2 (the cc_type of the triplets).
    pub fn field(self) -> u8 {
        match self {
            Channel608::Cc1 | Channel608::Cc2 => 0,
            Channel608::Cc3 | Channel608::Cc4 => 1,
        }
    }

    /// The data channel within the field.
    pub(crate) fn data_channel(self) -> Channel {
        match self {
            Channel608::Cc1 | Channel608::Cc3 => Channel::ONE,
            Channel608::Cc2 | Channel608::Cc4 => Channel::TWO,
        }
    }
}

/// What the decoder counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DecodeStats {
    /// Byte pairs dropped for bad parity.
    pub parity_errors: u64,
    /// Extended Data Service packets skipped.
    pub xds_packets: u64,
    /// Byte pairs decoded for the chosen channel.
    pub pairs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Memory([[Option<Cell>; COLUMNS]; ROWS]);

impl Memory {
    fn blank() -> Memory {
        Memory([[None; COLUMNS]; ROWS])
    }

    fn clear(&mut self) {
        *self = Memory::blank();
    }

    fn clear_row(&mut self, row: usize) {
        if let Some(r) = self.0.get_mut(row) {
            *r = [None; COLUMNS];
        }
    }

    /// The text as a cue would carry it, with the first row and column used.
    fn render(&self) -> Rendered {
        grid::render(self.0.iter().map(|r| &r[..]), (0, 0))
    }
}

/// The caption colour of a 608 colour.
fn colour(c: Color) -> Colour {
    match c {
        Color::White => Colour::White,
        Color::Green => Colour::Green,
        Color::Blue => Colour::Blue,
        Color::Cyan => Colour::Cyan,
        Color::Red => Colour::Red,
        Color::Yellow => Colour::Yellow,
        Color::Magenta => Colour::Magenta,
    }
}

/// One data channel's display.
struct Display {
    mode: Option<Mode>,
    shown: Memory,
    hidden: Memory,
    row: usize,
    col: usize,
    style: Style,
    /// The cues the display makes.
    cues: CueTracker,
    /// The displayed memory changed since the last `sync`.
    changed: bool,
}

impl Display {
    fn new() -> Display {
        Display {
            mode: None,
            shown: Memory::blank(),
            hidden: Memory::blank(),
            row: ROWS - 1,
            col: 0,
            style: PLAIN,
            cues: CueTracker::default(),
            changed: false,
        }
    }

    fn target(&mut self) -> Option<&mut Memory> {
        match self.mode? {
            Mode::PopOn => Some(&mut self.hidden),
            _ => Some(self.shown_mut()),
        }
    }

    /// The displayed memory, for a change.
    fn shown_mut(&mut self) -> &mut Memory {
        self.changed = true;
        &mut self.shown
    }

    fn put(&mut self, ch: char) {
        let (row, col, style) = (self.row, self.col, self.style);
        if let Some(memory) = self.target() {
            memory.0[row][col] = Some(Cell { ch, style });
            self.col = (col + 1).min(COLUMNS - 1);
        }
    }

    fn backspace(&mut self) {
        if self.col > 0 {
            self.col -= 1;
            let (row, col) = (self.row, self.col);
            if let Some(memory) = self.target() {
                memory.0[row][col] = None;
            }
        }
    }

    /// Scrolls the roll-up window of `rows` rows ending at the cursor row.
    fn roll_up(&mut self, rows: usize) {
        let base = self.row;
        let top = (base + 1).saturating_sub(rows);
        let shown = self.shown_mut();
        for r in top..base {
            shown.0[r] = shown.0[r + 1];
        }
        shown.clear_row(base);
        // Rows above the window are not part of a roll-up display.
        for r in 0..top {
            shown.clear_row(r);
        }
        self.col = 0;
    }

    fn apply(&mut self, event: Cea608) {
        match event {
            Cea608::NewMode(_, mode) => {
                let was_rollup = self.mode.is_some_and(|m| m.is_rollup());
                if mode.is_rollup() {
                    if !was_rollup {
                        // Entering roll-up from pop-on or paint-on clears
                        // both memories and puts the base row at the bottom.
                        self.shown_mut().clear();
                        self.hidden.clear();
                        self.row = ROWS - 1;
                        self.col = 0;
                    }
                    if let Some(n) = mode.rollup_rows() {
                        let top = (self.row + 1).saturating_sub(usize::from(n));
                        let shown = self.shown_mut();
                        for r in 0..top {
                            shown.clear_row(r);
                        }
                    }
                } else if was_rollup {
                    self.shown_mut().clear();
                }
                self.mode = Some(mode);
            }
            Cea608::EraseDisplay(_) => self.shown_mut().clear(),
            Cea608::EraseNonDisplay(_) => self.hidden.clear(),
            Cea608::EndOfCaption(_) => {
                std::mem::swap(&mut self.shown, &mut self.hidden);
                self.changed = true;
                self.mode = Some(Mode::PopOn);
            }
            Cea608::CarriageReturn(_) => {
                if let Some(n) = self.mode.and_then(|m| m.rollup_rows()) {
                    self.roll_up(usize::from(n));
                }
            }
            Cea608::Backspace(_) => self.backspace(),
            Cea608::DeleteToEndOfRow(_) => {
                let (row, col) = (self.row, self.col);
                if let Some(memory) = self.target() {
                    memory.0[row][col..].fill(None);
                }
            }
            Cea608::TabOffset(_, n) => self.col = (self.col + usize::from(n)).min(COLUMNS - 1),
            Cea608::Preamble(_, pac) => {
                let row = usize::from(pac.row()).min(ROWS - 1);
                if let Some(n) = self.mode.and_then(|m| m.rollup_rows()) {
                    // A new base row moves the roll-up window with its text.
                    if row != self.row {
                        let n = usize::from(n);
                        let old: Vec<_> =
                            (0..n).filter_map(|k| self.row.checked_sub(k).map(|r| self.shown.0[r])).collect();
                        let shown = self.shown_mut();
                        shown.clear();
                        for (k, content) in old.into_iter().enumerate() {
                            if let Some(r) = row.checked_sub(k) {
                                shown.0[r] = content;
                            }
                        }
                    }
                }
                self.row = row;
                self.col = usize::from(pac.column()).min(COLUMNS - 1);
                self.style = Style { italic: pac.italics(), underline: pac.underline(), color: colour(pac.color()) };
            }
            Cea608::MidRowChange(_, mid) => {
                // A mid-row code is a spacing attribute: it shows as a space.
                self.style = Style {
                    italic: mid.italics(),
                    underline: mid.underline(),
                    color: mid.color().map_or(self.style.color, colour),
                };
                let style = self.style;
                self.style = PLAIN;
                self.put(' ');
                self.style = style;
            }
            Cea608::Text(text) => {
                if text.needs_backspace {
                    self.backspace();
                }
                for ch in [text.char1, text.char2].into_iter().flatten() {
                    self.put(ch);
                }
            }
        }
    }

    /// Ends or extends the current cue if the display changed. (Between
    /// changes the current cue already shows what is displayed, so the
    /// display is rendered only after a change.)
    fn sync(&mut self, pts: u64, out: &mut Vec<Cue>) {
        if !std::mem::take(&mut self.changed) {
            return;
        }
        let grows = self.mode.is_some_and(|m| m != Mode::PopOn);
        self.cues.update(self.shown.render(), grows, pts, out);
    }

    fn flush(&mut self, pts: u64, out: &mut Vec<Cue>) {
        self.cues.flush(self.shown.render(), pts, out);
    }
}

/// What one field's byte stream is doing, beyond what `cea608-types` tracks.
#[derive(Default)]
struct FieldState {
    parser: Cea608State,
    /// Inside an XDS packet (field 2).
    in_xds: bool,
    /// Data channels 1 and 2 in text mode (TR/RTD), whose characters are
    /// not captions.
    text_mode: [bool; 2],
    /// The data channel of the last control code.
    channel: usize,
}

/// A CEA-608 decoder for one caption channel.
///
/// ```
/// use stagebox_media::captions::*;
/// let mut dec = Cea608Decoder::new(Channel608::Cc1);
/// // RCL, PAC row 15, "HI", EOC: a pop-on caption, shown at 1 s.
/// let pairs = [[0x94, 0x20], [0x94, 0x70], [0xc8, 0x49], [0x94, 0x2f]];
/// for (i, p) in pairs.iter().enumerate() {
///     dec.decode_cc(&[0xfc, p[0], p[1]], 1_000_000_000 + i as u64);
/// }
/// let cues = dec.flush(3_000_000_000);
/// assert_eq!(cues[0].text, "HI");
/// assert_eq!((cues[0].start, cues[0].end), (1_000_000_003, 3_000_000_000));
/// ```
pub struct Cea608Decoder {
    channel: Channel608,
    fields: [FieldState; 2],
    display: Display,
    stats: DecodeStats,
}

impl Cea608Decoder {
    /// A decoder for `channel`.
    pub fn new(channel: Channel608) -> Cea608Decoder {
        Cea608Decoder { channel, fields: Default::default(), display: Display::new(), stats: DecodeStats::default() }
    }

    /// Feeds cc_data triplets (`marker|cc_valid|cc_type`, byte 1, byte 2)
    /// carried at `pts` (ns); returns the cues that ended. Triplets that are
    /// not valid 608 data (cc_valid 0, or cc_type 2 and 3, which are
    /// CEA-708) are skipped; a trailing partial triplet is ignored.
    pub fn decode_cc(&mut self, cc_data: &[u8], pts: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        for t in cc_data.chunks_exact(3) {
            let (valid, cc_type) = (t[0] & 0x04 != 0, t[0] & 0x03);
            if valid && cc_type < 2 {
                self.pair(cc_type, [t[1], t[2]], pts, &mut out);
            }
        }
        out
    }

    /// Feeds one byte pair of field `field` (0 or 1) at `pts`.
    pub fn decode_pair(&mut self, field: u8, pair: [u8; 2], pts: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        self.pair(field.min(1), pair, pts, &mut out);
        out
    }

    fn pair(&mut self, field: u8, pair: [u8; 2], pts: u64, out: &mut Vec<Cue>) {
        if !(odd_parity(pair[0]) && odd_parity(pair[1])) {
            self.stats.parity_errors += 1;
            return;
        }
        let (b1, b2) = (pair[0] & 0x7f, pair[1] & 0x7f);
        let state = &mut self.fields[usize::from(field)];
        // XDS (field 2): 0x01–0x0E start or continue a packet, 0x0F ends it;
        // a caption control code interrupts it.
        if (0x01..=0x0f).contains(&b1) {
            if b1 % 2 == 1 && b1 != 0x0f {
                self.stats.xds_packets += 1;
            }
            state.in_xds = b1 != 0x0f;
            return;
        }
        if (0x10..=0x1f).contains(&b1) {
            state.in_xds = false;
            state.channel = usize::from(b1 & 0x08 != 0);
            // Miscellaneous control codes (0x14/0x1c, or 0x15/0x1d on field
            // 2) switch the data channel between captions and text.
            if b1 & 0x76 == 0x14 && (0x20..=0x2f).contains(&b2) {
                match b2 {
                    0x2a | 0x2b => state.text_mode[state.channel] = true,
                    0x20 | 0x25 | 0x26 | 0x27 | 0x29 => state.text_mode[state.channel] = false,
                    _ => {}
                }
            }
        } else if state.in_xds {
            return;
        }
        let text_mode = state.text_mode[state.channel];
        let event = match state.parser.decode(pair) {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(_) => {
                self.stats.parity_errors += 1;
                return;
            }
        };
        if text_mode || field != self.channel.field() || event.channel() != self.channel.data_channel() {
            return;
        }
        self.stats.pairs += 1;
        self.display.apply(event);
        self.display.sync(pts, out);
    }

    /// Ends the cue on screen (and any text being built) at `pts`.
    pub fn flush(&mut self, pts: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        self.display.flush(pts, &mut out);
        out
    }

    /// What the decoder counted so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }
}

fn odd_parity(b: u8) -> bool {
    b.count_ones() % 2 == 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use super::super::encode::parity as p;

    fn feed(dec: &mut Cea608Decoder, field: u8, words: &[[u8; 2]], t0: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            out.extend(dec.decode_pair(field, [p(w[0]), p(w[1])], t0 + i as u64));
        }
        out
    }

    fn text(s: &str) -> Vec<[u8; 2]> {
        s.as_bytes().chunks(2).map(|c| [c[0], c.get(1).copied().unwrap_or(0)]).collect()
    }

    const RCL: [u8; 2] = [0x14, 0x20];
    const EOC: [u8; 2] = [0x14, 0x2f];
    const EDM: [u8; 2] = [0x14, 0x2c];
    const CR: [u8; 2] = [0x14, 0x2d];
    const RU2: [u8; 2] = [0x14, 0x25];
    const RU3: [u8; 2] = [0x14, 0x26];
    const RDC: [u8; 2] = [0x14, 0x29];
    const PAC15: [u8; 2] = [0x14, 0x70];
    const PAC14: [u8; 2] = [0x14, 0x50];

    #[test]
    fn pop_on_shows_at_eoc_and_ends_at_edm() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut words = vec![RCL, PAC14];
        words.extend(text("HELLO"));
        words.push(PAC15);
        words.extend(text("WORLD"));
        assert!(feed(&mut dec, 0, &words, 0).is_empty(), "nothing shows before EOC");
        assert!(feed(&mut dec, 0, &[EOC], 100).is_empty());
        let cues = feed(&mut dec, 0, &[EDM], 200);
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].text, "HELLO\nWORLD");
        assert_eq!((cues[0].start, cues[0].end), (100, 200));
        assert_eq!((cues[0].line, cues[0].column), (Some(13), Some(0)));
    }

    #[test]
    fn control_codes_sent_twice_act_once() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut words = vec![RCL, RCL, PAC15, PAC15];
        words.extend(text("AB"));
        words.extend([EOC, EOC]);
        feed(&mut dec, 0, &words, 0);
        let cues = dec.flush(50);
        assert_eq!(cues[0].text, "AB", "a doubled EOC must not swap the memories back");
    }

    #[test]
    fn roll_up_makes_one_cue_per_scroll() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut words = vec![RU2, PAC15];
        words.extend(text("ONE"));
        let mut cues = feed(&mut dec, 0, &words, 0);
        cues.extend(feed(&mut dec, 0, &[CR], 10));
        cues.extend(feed(&mut dec, 0, &text("TWO"), 20));
        cues.extend(feed(&mut dec, 0, &[CR], 30));
        cues.extend(feed(&mut dec, 0, &text("THREE"), 40));
        cues.extend(dec.flush(100));
        let texts: Vec<_> = cues.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["ONE\nTWO", "TWO\nTHREE"]);
        assert_eq!(cues[0].start, 2, "the cue starts with its first character");
        assert_eq!(cues[1].start, 30);
    }

    #[test]
    fn roll_up_window_height_is_kept() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut words = vec![RU3, PAC15];
        for line in ["A", "B", "C", "D"] {
            words.extend(text(line));
            words.push(CR);
        }
        words.extend(text("E"));
        feed(&mut dec, 0, &words, 0);
        let cues = dec.flush(1000);
        assert_eq!(cues.last().unwrap().text, "C\nD\nE");
    }

    #[test]
    fn paint_on_shows_characters_as_they_come() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut words = vec![RDC, PAC15];
        words.extend(text("HI"));
        let cues = feed(&mut dec, 0, &words, 0);
        assert!(cues.is_empty());
        let cues = feed(&mut dec, 0, &[EDM], 10);
        assert_eq!(cues[0].text, "HI");
        assert_eq!(cues[0].start, 2);
    }

    #[test]
    fn styles_and_positions() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        // PAC row 1, indent 8 (0x11 0x54); "A", mid-row italics, "B", tab 2.
        let mut words = vec![RCL, [0x11, 0x54]];
        words.extend(text("A"));
        words.push([0x11, 0x2e]);
        words.extend(text("B"));
        words.push([0x17, 0x22]);
        words.extend(text("C"));
        words.push(EOC);
        feed(&mut dec, 0, &words, 0);
        let cue = &dec.flush(10)[0];
        assert_eq!(cue.text, "A <i>B  C</i>", "the cells a tab skips are spaces in the running style");
        assert!(cue.styled);
        assert_eq!((cue.line, cue.column), (Some(0), Some(8)));
        assert_eq!(cue.plain_text(), "A B  C");
    }

    #[test]
    fn special_and_extended_characters() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        // Special: music note 0x11 0x37. Extended: 'E' then É (0x12 0x21)
        // which replaces it.
        let words = vec![RCL, PAC15, [0x11, 0x37], [b'E', 0], [0x12, 0x21], EOC];
        feed(&mut dec, 0, &words, 0);
        assert_eq!(dec.flush(10)[0].text, "♪É");
    }

    #[test]
    fn channels_are_kept_apart() {
        for (channel, field, b1) in [
            (Channel608::Cc1, 0, 0x14),
            (Channel608::Cc2, 0, 0x1c),
            (Channel608::Cc3, 1, 0x15),
            (Channel608::Cc4, 1, 0x1d),
        ] {
            let mut dec = Cea608Decoder::new(channel);
            for (f, c) in [(0u8, 0x14u8), (0, 0x1c), (1, 0x15), (1, 0x1d)] {
                let label = format!("F{f}{c:02X}");
                // RCL on this channel, then a PAC for row 15: PACs carry
                // the data channel bit (0x08) but not the field.
                let mut words = vec![[c, 0x20], [0x14 | (c & 0x08), 0x70]];
                words.extend(text(&label));
                words.push([c, 0x2f]);
                feed(&mut dec, f, &words, 0);
            }
            let cues = dec.flush(100);
            assert_eq!(cues.len(), 1, "{channel:?}");
            assert_eq!(cues[0].text, format!("F{field}{b1:02X}"), "{channel:?}");
        }
    }

    #[test]
    fn xds_and_text_mode_are_skipped() {
        let mut dec = Cea608Decoder::new(Channel608::Cc3);
        let mut words = vec![[0x01, 0x03], [b'X', b'D'], [0x0f, 0x1a]];
        words.extend([[0x15, 0x2a], [b'T', b'X'], [0x15, 0x20], [0x14, 0x70]]);
        words.extend(text("OK"));
        words.push([0x15, 0x2f]);
        feed(&mut dec, 1, &words, 0);
        let cues = dec.flush(100);
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].text, "OK");
        assert_eq!(dec.stats().xds_packets, 1);
    }

    #[test]
    fn bad_parity_is_counted_and_not_trusted() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        feed(&mut dec, 0, &[RCL, PAC15], 0);
        // 'A' with even parity, then a good 'B'.
        dec.decode_pair(0, [b'A', 0x80], 3);
        feed(&mut dec, 0, &[[b'B', 0], EOC], 4);
        assert_eq!(dec.flush(10)[0].text, "B");
        assert_eq!(dec.stats().parity_errors, 1);
    }

    #[test]
    fn garbage_never_panics() {
        let mut dec = Cea608Decoder::new(Channel608::Cc1);
        let mut x = 0x1234_5678_u32;
        let data: Vec<u8> = (0..30_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for (i, chunk) in data.chunks(30).enumerate() {
            for cue in dec.decode_cc(chunk, i as u64) {
                assert!(cue.start <= cue.end);
            }
        }
        dec.flush(u64::MAX);
    }
}
