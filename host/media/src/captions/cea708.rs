//! CEA-708 (DTVCC) decoding: cc_data triplets to DTVCC packets to service
//! blocks to the window model of ANSI/CTA-708-E, then cues.
//!
//! Packets are assembled here (cc_type 3 starts one, cc_type 2 continues
//! it) and parsed into service blocks and codes by the `cea708-types`
//! crate. A packet that does not parse is counted in
//! [`Cea708Stats::bad_packets`] and dropped whole; nothing of it reaches
//! the display.
//!
//! Supported: the eight windows with DefineWindow, SetCurrentWindow,
//! Clear/Display/Hide/Toggle/DeleteWindows and Reset; pen location, italics,
//! underline and foreground colour; BS, CR (scrolling the window up when the
//! pen is on its last row), HCR, FF; the G0, G1, G2 and G3 characters.
//! Not supported: Delay/DelayCancel (commands apply at once), justification,
//! print and scroll directions other than left-to-right and bottom-up,
//! window fill and borders, pen size and fonts.

use super::Cue;
use super::grid::{self, Cell, Colour, CueTracker, PLAIN, Rendered, Style};
use cea708_types::DTVCCPacket;
use cea708_types::tables::{Code, ColorValue, DefineWindowArgs, WindowBits};

/// Rows and columns a window may have (15 rows; 42 columns on 16:9).
const MAX_ROWS: usize = 15;
const MAX_COLUMNS: usize = 42;

/// What the 708 decoder counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cea708Stats {
    /// DTVCC packets decoded.
    pub packets: u64,
    /// Packets dropped because a service block or code in them was malformed
    /// or they were cut short.
    pub bad_packets: u64,
    /// Packets whose sequence number skipped: packets lost upstream.
    pub sequence_gaps: u64,
}

#[derive(Debug, Clone)]
struct Window {
    visible: bool,
    priority: u8,
    /// Top-left of the window on the 15×32 caption grid.
    origin: (usize, usize),
    cells: Vec<Vec<Option<Cell>>>,
    row: usize,
    col: usize,
    pen: Style,
}

impl Window {
    fn new(args: &DefineWindowArgs) -> Window {
        let mut w =
            Window { visible: false, priority: 0, origin: (0, 0), cells: Vec::new(), row: 0, col: 0, pen: PLAIN };
        w.define(args);
        w
    }

    /// Applies a DefineWindow to an existing window: attributes change, the
    /// text stays (cut to the new size).
    fn define(&mut self, args: &DefineWindowArgs) {
        let rows = (usize::from(args.row_count) + 1).min(MAX_ROWS);
        let cols = (usize::from(args.column_count) + 1).min(MAX_COLUMNS);
        self.cells.resize(rows, Vec::new());
        for row in &mut self.cells {
            row.resize(cols, None);
        }
        self.visible = args.visible;
        self.priority = args.priority;
        let (v, h) = (usize::from(args.anchor_vertical), usize::from(args.anchor_horizontal));
        self.origin = if args.relative_positioning {
            ((v * 15 / 100).min(14), (h * 32 / 100).min(31))
        } else {
            ((v / 5).min(14), (h * 32 / 210).min(31))
        };
        self.row = self.row.min(rows - 1);
        self.col = self.col.min(cols - 1);
    }

    fn rows(&self) -> usize {
        self.cells.len()
    }

    fn cols(&self) -> usize {
        self.cells.first().map_or(1, Vec::len)
    }

    fn clear(&mut self) {
        for row in &mut self.cells {
            row.fill(None);
        }
    }

    fn put(&mut self, ch: char) {
        let (row, col, style) = (self.row, self.col, self.pen);
        if let Some(cell) = self.cells.get_mut(row).and_then(|r| r.get_mut(col)) {
            *cell = Some(Cell { ch, style });
        }
        self.col = (col + 1).min(self.cols() - 1);
    }

    fn carriage_return(&mut self) {
        self.col = 0;
        if self.row + 1 < self.rows() {
            self.row += 1;
        } else {
            // Bottom row: the window scrolls up.
            self.cells.rotate_left(1);
            if let Some(last) = self.cells.last_mut() {
                last.fill(None);
            }
        }
    }

    fn render(&self) -> Rendered {
        grid::render(self.cells.iter().map(Vec::as_slice), self.origin)
    }
}

/// The caption colour nearest a 708 pen colour (2 bits per component).
fn colour(c: &cea708_types::tables::Color) -> Colour {
    let on = |v: &ColorValue| matches!(v, ColorValue::TwoThirds | ColorValue::Full);
    match (on(&c.r), on(&c.g), on(&c.b)) {
        (true, true, true) => Colour::White,
        (false, false, false) => Colour::Black,
        (true, false, false) => Colour::Red,
        (false, true, false) => Colour::Green,
        (false, false, true) => Colour::Blue,
        (true, true, false) => Colour::Yellow,
        (true, false, true) => Colour::Magenta,
        (false, true, true) => Colour::Cyan,
    }
}

/// A CEA-708 decoder for one caption service (1 is the primary service).
///
/// ```
/// use stagebox_media::captions::Cea708Decoder;
/// let mut dec = Cea708Decoder::new(1);
/// // One DTVCC packet: DefineWindow 0 (visible, 1 row, 32 columns), "HI".
/// let packet = [0x06, 0x29, 0x98, 0x38, 0x00, 0x00, 0x00, 0x1f, 0x11, 0x48, 0x49, 0x00];
/// let mut cc_data = vec![0xff, packet[0], packet[1]];
/// for pair in packet[2..].chunks(2) {
///     cc_data.extend([0xfe, pair[0], pair[1]]);
/// }
/// dec.decode_cc(&cc_data, 1_000);
/// let cues = dec.flush(2_000);
/// assert_eq!((cues[0].text.as_str(), cues[0].start, cues[0].end), ("HI", 1_000, 2_000));
/// ```
pub struct Cea708Decoder {
    service: u8,
    packet: Vec<u8>,
    /// Bytes the packet being assembled will have (header included).
    expected: usize,
    last_sequence: Option<u8>,
    windows: [Option<Window>; 8],
    current: Option<usize>,
    cues: CueTracker,
    stats: Cea708Stats,
}

impl Cea708Decoder {
    /// A decoder for caption service `service` (1–63).
    pub fn new(service: u8) -> Cea708Decoder {
        Cea708Decoder {
            service,
            packet: Vec::new(),
            expected: 0,
            last_sequence: None,
            windows: Default::default(),
            current: None,
            cues: CueTracker::default(),
            stats: Cea708Stats::default(),
        }
    }

    /// Feeds cc_data triplets (`marker|cc_valid|cc_type`, byte 1, byte 2)
    /// carried at `pts` (ns); returns the cues that ended. CEA-608 triplets
    /// (cc_type 0 and 1) and invalid ones are skipped.
    pub fn decode_cc(&mut self, cc_data: &[u8], pts: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        for t in cc_data.chunks_exact(3) {
            let (valid, cc_type) = (t[0] & 0x04 != 0, t[0] & 0x03);
            match (valid, cc_type) {
                (true, 3) => {
                    if !self.packet.is_empty() {
                        // A new header cuts the previous packet short.
                        self.stats.bad_packets += 1;
                    }
                    let size_code = usize::from(t[1] & 0x3f);
                    self.expected = if size_code == 0 { 128 } else { size_code * 2 };
                    self.packet.clear();
                    self.packet.extend([t[1], t[2]]);
                }
                (true, 2) if !self.packet.is_empty() => self.packet.extend([t[1], t[2]]),
                _ => continue,
            }
            if self.packet.len() >= self.expected {
                let mut packet = std::mem::take(&mut self.packet);
                packet.truncate(self.expected);
                self.packet_done(&packet, pts, &mut out);
            }
        }
        out
    }

    fn packet_done(&mut self, bytes: &[u8], pts: u64, out: &mut Vec<Cue>) {
        let Ok(packet) = DTVCCPacket::parse(bytes) else {
            self.stats.bad_packets += 1;
            return;
        };
        self.stats.packets += 1;
        let seq = packet.sequence_no();
        if self.last_sequence.is_some_and(|last| (last + 1) % 4 != seq) {
            self.stats.sequence_gaps += 1;
        }
        self.last_sequence = Some(seq);
        let mut revealed = false;
        let number = self.service;
        for service in packet.services().iter().filter(|s| s.number() == number) {
            for code in service.codes() {
                revealed |= self.apply(code);
            }
        }
        // Text written into a shown window grows the cue; a window shown,
        // hidden or cleared starts a new one.
        self.cues.update(self.render(), !revealed, pts, out);
    }

    fn window(&mut self) -> Option<&mut Window> {
        self.windows.get_mut(self.current?)?.as_mut()
    }

    fn each(&mut self, bits: &WindowBits, mut f: impl FnMut(&mut Option<Window>)) {
        let bits = u8::from(*bits);
        for (i, w) in self.windows.iter_mut().enumerate() {
            if bits & (1 << i) != 0 {
                f(w);
            }
        }
    }

    /// Applies one code; true when it changes which windows show, or
    /// clears one.
    fn apply(&mut self, code: &Code) -> bool {
        match code {
            Code::SetCurrentWindow0 => self.current = Some(0),
            Code::SetCurrentWindow1 => self.current = Some(1),
            Code::SetCurrentWindow2 => self.current = Some(2),
            Code::SetCurrentWindow3 => self.current = Some(3),
            Code::SetCurrentWindow4 => self.current = Some(4),
            Code::SetCurrentWindow5 => self.current = Some(5),
            Code::SetCurrentWindow6 => self.current = Some(6),
            Code::SetCurrentWindow7 => self.current = Some(7),
            Code::DefineWindow(args) => {
                let id = usize::from(args.window_id & 7);
                match &mut self.windows[id] {
                    Some(w) => w.define(args),
                    slot => *slot = Some(Window::new(args)),
                }
                self.current = Some(id);
                return true;
            }
            Code::ClearWindows(bits) => {
                self.each(bits, |w| w.iter_mut().for_each(Window::clear));
                return true;
            }
            Code::DisplayWindows(bits) => {
                self.each(bits, |w| w.iter_mut().for_each(|w| w.visible = true));
                return true;
            }
            Code::HideWindows(bits) => {
                self.each(bits, |w| w.iter_mut().for_each(|w| w.visible = false));
                return true;
            }
            Code::ToggleWindows(bits) => {
                self.each(bits, |w| w.iter_mut().for_each(|w| w.visible = !w.visible));
                return true;
            }
            Code::DeleteWindows(bits) => {
                self.each(bits, |w| *w = None);
                return true;
            }
            Code::Reset => {
                self.windows = Default::default();
                self.current = None;
                return true;
            }
            Code::SetPenAttributes(args) => {
                if let Some(w) = self.window() {
                    w.pen.italic = args.italics;
                    w.pen.underline = args.underline;
                }
            }
            Code::SetPenColor(args) => {
                if let Some(w) = self.window() {
                    w.pen.color = colour(&args.foreground_color);
                }
            }
            Code::SetPenLocation(args) => {
                if let Some(w) = self.window() {
                    w.row = usize::from(args.row).min(w.rows() - 1);
                    w.col = usize::from(args.column).min(w.cols() - 1);
                }
            }
            Code::BS => {
                if let Some(w) = self.window()
                    && w.col > 0
                {
                    w.col -= 1;
                    let (row, col) = (w.row, w.col);
                    w.cells[row][col] = None;
                }
            }
            Code::CR => {
                if let Some(w) = self.window() {
                    w.carriage_return();
                }
            }
            Code::HCR => {
                if let Some(w) = self.window() {
                    let row = w.row;
                    w.cells[row].fill(None);
                    w.col = 0;
                }
            }
            Code::FF => {
                if let Some(w) = self.window() {
                    w.clear();
                    (w.row, w.col) = (0, 0);
                }
                return true;
            }
            code => {
                if let Some(ch) = code.char()
                    && let Some(w) = self.window()
                {
                    w.put(ch);
                }
            }
        }
        false
    }

    /// The visible windows, highest priority (0) first, then top to bottom.
    fn render(&self) -> Rendered {
        let mut shown: Vec<&Window> = self.windows.iter().flatten().filter(|w| w.visible).collect();
        shown.sort_by_key(|w| (w.priority, w.origin));
        let mut out = Rendered::default();
        for w in shown {
            out.append(w.render());
        }
        out
    }

    /// Ends the cue on screen (and any packet being assembled) at `pts`.
    pub fn flush(&mut self, pts: u64) -> Vec<Cue> {
        let mut out = Vec::new();
        self.packet.clear();
        self.cues.flush(self.render(), pts, &mut out);
        out
    }

    /// What the decoder counted so far.
    pub fn stats(&self) -> Cea708Stats {
        self.stats
    }
}
