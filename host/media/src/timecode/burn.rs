//! Drawing text (a timecode) onto a video frame: white glyphs on a black
//! box, in 8-bit UYVY, 10-bit v210 or 8-bit RGBA, changing nothing outside
//! the box.

use super::font;

/// How a frame's pixels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 8-bit 4:2:2, Cb Y Cr Y, video range.
    Uyvy,
    /// 10-bit 4:2:2, 6 pixels in 16 bytes (4 little-endian words of three
    /// 10-bit samples), video range.
    V210,
    /// 8-bit R G B A, full range.
    Rgba,
}

/// A frame to draw on.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The pixels.
    pub data: &'a mut [u8],
    /// Their layout.
    pub layout: Layout,
    /// Width in pixels.
    pub width: usize,
    /// Height in lines.
    pub height: usize,
    /// Bytes from one line to the next.
    pub stride: usize,
}

/// Why text cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BurnError {
    /// The frame's bytes do not hold its size.
    #[error("{layout:?} {width}x{height} with stride {stride} needs {needed} bytes, the frame has {len}")]
    Size {
        /// The layout.
        layout: Layout,
        /// Width.
        width: usize,
        /// Height.
        height: usize,
        /// Stride.
        stride: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        len: usize,
    },
    /// The box does not fit in the frame.
    #[error("a {box_w}x{box_h} box does not fit in a {width}x{height} frame")]
    TooSmall {
        /// Box width.
        box_w: usize,
        /// Box height.
        box_h: usize,
        /// Frame width.
        width: usize,
        /// Frame height.
        height: usize,
    },
    /// A character the font has no glyph for.
    #[error("no glyph for {0:?}")]
    Glyph(char),
}

/// Where and how large to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge of the box in pixels (`None`: centred).
    pub x: Option<usize>,
    /// Top edge of the box in lines (`None`: a twentieth of the height up
    /// from the bottom).
    pub y: Option<usize>,
    /// Screen pixels per font pixel (`None`: one per 270 lines, at least 1).
    pub scale: Option<usize>,
}

/// Cells: a glyph is 5 font pixels wide with one of spacing, 7 high, and
/// the box has a font pixel of margin all round.
const CELL_W: usize = font::WIDTH + 1;
const BOX_H: usize = font::HEIGHT + 2;

/// The size in pixels of the box for `chars` characters at `scale`.
pub fn box_size(chars: usize, scale: usize) -> (usize, usize) {
    ((chars * CELL_W + 1) * scale, BOX_H * scale)
}

impl Frame<'_> {
    fn min_stride(&self) -> usize {
        match self.layout {
            Layout::Uyvy => self.width.div_ceil(2) * 4,
            Layout::V210 => self.width.div_ceil(6) * 16,
            Layout::Rgba => self.width * 4,
        }
    }

    /// Pixels the box's left edge must be a multiple of, so chroma samples
    /// (shared by 2 or 6 pixels) belong wholly to the box or not at all.
    fn align(&self) -> usize {
        match self.layout {
            Layout::Uyvy => 2,
            Layout::V210 => 6,
            Layout::Rgba => 1,
        }
    }

    fn check(&self) -> Result<(), BurnError> {
        let needed = self.stride.saturating_mul(self.height);
        if self.stride < self.min_stride() || self.data.len() < needed {
            return Err(BurnError::Size {
                layout: self.layout,
                width: self.width,
                height: self.height,
                stride: self.stride,
                needed: needed.max(self.min_stride() * self.height),
                len: self.data.len(),
            });
        }
        Ok(())
    }

    /// Sets one pixel to white or black, and (for 4:2:2) its chroma to
    /// neutral.
    fn set(&mut self, x: usize, y: usize, white: bool) {
        let line = y * self.stride;
        match self.layout {
            Layout::Uyvy => {
                let at = line + (x / 2) * 4;
                let px = &mut self.data[at..at + 4];
                px[0] = 128;
                px[2] = 128;
                px[1 + 2 * (x % 2)] = if white { 235 } else { 16 };
            }
            Layout::V210 => {
                let group = line + (x / 6) * 16;
                // Y0..Y5 positions: (word, shift).
                const LUMA: [(usize, u32); 6] = [(0, 10), (1, 0), (1, 20), (2, 10), (3, 0), (3, 20)];
                const CHROMA: [(usize, u32); 6] = [(0, 0), (0, 20), (1, 10), (2, 0), (2, 20), (3, 10)];
                let (word, shift) = LUMA[x % 6];
                let value: u32 = if white { 940 } else { 64 };
                let mut put = |word: usize, shift: u32, value: u32| {
                    let at = group + word * 4;
                    let mut w =
                        u32::from_le_bytes([self.data[at], self.data[at + 1], self.data[at + 2], self.data[at + 3]]);
                    w = (w & !(0x3ff << shift)) | (value << shift);
                    self.data[at..at + 4].copy_from_slice(&w.to_le_bytes());
                };
                put(word, shift, value);
                for (word, shift) in CHROMA {
                    put(word, shift, 512);
                }
            }
            Layout::Rgba => {
                let at = line + x * 4;
                let v = if white { 255 } else { 0 };
                self.data[at..at + 4].copy_from_slice(&[v, v, v, 255]);
            }
        }
    }
}

/// Draws `text` in white on a black box. Returns the box: (x, y, width,
/// height) in pixels.
pub fn burn_text(
    frame: &mut Frame<'_>,
    text: &str,
    place: Placement,
) -> Result<(usize, usize, usize, usize), BurnError> {
    frame.check()?;
    if let Some(ch) = text.chars().find(|&c| font::glyph(c).is_none()) {
        return Err(BurnError::Glyph(ch));
    }
    let chars: Vec<char> = text.chars().collect();
    let scale = place.scale.unwrap_or(frame.height / 270).max(1);
    let align = frame.align();
    let (w, h) = box_size(chars.len(), scale);
    // Whole chroma groups: the box spans a multiple of `align` pixels.
    let w = w.div_ceil(align) * align;
    let too_small = BurnError::TooSmall { box_w: w, box_h: h, width: frame.width, height: frame.height };
    if w > frame.width || h > frame.height {
        return Err(too_small);
    }
    let x = place.x.unwrap_or((frame.width - w) / 2).min(frame.width - w) / align * align;
    let y = place.y.unwrap_or(frame.height - h - frame.height / 20).min(frame.height - h);
    if x + w > frame.width {
        return Err(too_small);
    }
    for row in 0..h {
        let fy = (row / scale).checked_sub(1);
        for col in 0..w {
            let fx = (col / scale).checked_sub(1);
            let on = match (fx, fy) {
                (Some(fx), Some(fy)) => {
                    let (cell, gx) = (fx / CELL_W, fx % CELL_W);
                    chars.get(cell).is_some_and(|&c| font::lit(c, gx, fy))
                }
                _ => false,
            };
            frame.set(x + col, y + row, on);
        }
    }
    Ok((x, y, w, h))
}
