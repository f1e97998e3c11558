//! A small JPEG of a video flow's latest grain, for the dashboard: scaled
//! to at most [`MAX_WIDTH`] pixels wide by picking pixels (nearest
//! neighbour), converted from Y'CbCr with the BT.709 matrix.

use stagebox_flow::{VideoCoding, VideoFormat};

/// The widest thumbnail.
pub const MAX_WIDTH: u32 = 320;

/// Why a grain cannot be made into a thumbnail.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// A coding this module does not read (compressed video, v210a).
    #[error("no thumbnails of {0:?} video")]
    Coding(VideoCoding),
    /// The grain is shorter than its format says.
    #[error("the grain holds {got} bytes; its format needs {need}")]
    Short {
        /// Bytes in the grain.
        got: usize,
        /// Bytes the format needs.
        need: usize,
    },
    /// The JPEG encoder refused.
    #[error("encoding the JPEG: {0}")]
    Encode(String),
}

/// 8-bit R'G'B' from 10-bit narrow-range BT.709 Y'CbCr.
fn rgb(y: u16, cb: u16, cr: u16) -> [u8; 3] {
    let y = (f32::from(y) - 64.0) / 876.0;
    let cb = (f32::from(cb) - 512.0) / 896.0;
    let cr = (f32::from(cr) - 512.0) / 896.0;
    let clamp = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    [clamp(y + 1.5748 * cr), clamp(y - 0.1873 * cb - 0.4681 * cr), clamp(y + 1.8556 * cb)]
}

/// The Y'CbCr (10-bit) of pixel `x` of a v210 line.
fn v210_pixel(line: &[u8], x: usize) -> (u16, u16, u16) {
    let block = &line[x / 6 * 16..x / 6 * 16 + 16];
    let word = |i: usize| u32::from_le_bytes([block[i * 4], block[i * 4 + 1], block[i * 4 + 2], block[i * 4 + 3]]);
    let s = |w: usize, k: u32| ((word(w) >> (10 * k)) & 0x3ff) as u16;
    // Cb0 Y0 Cr0 | Y1 Cb1 Y2 | Cr1 Y3 Cb2 | Y4 Cr2 Y5
    match x % 6 {
        0 => (s(0, 1), s(0, 0), s(0, 2)),
        1 => (s(1, 0), s(0, 0), s(0, 2)),
        2 => (s(1, 2), s(1, 1), s(2, 0)),
        3 => (s(2, 1), s(1, 1), s(2, 0)),
        4 => (s(3, 0), s(2, 2), s(3, 1)),
        _ => (s(3, 2), s(2, 2), s(3, 1)),
    }
}

/// A JPEG of `frame`, a grain of `format`.
pub fn jpeg(format: &VideoFormat, frame: &[u8]) -> Result<Vec<u8>, ThumbnailError> {
    let (w, h) = (format.width as usize, format.height as usize);
    let stride = match format.coding {
        VideoCoding::V210 => stagebox_flow::pattern::v210_line_bytes(format.width),
        VideoCoding::Uyvy => w * 2,
        VideoCoding::Rgba => w * 4,
        other => return Err(ThumbnailError::Coding(other)),
    };
    let need = stride * h;
    if frame.len() < need {
        return Err(ThumbnailError::Short { got: frame.len(), need });
    }
    let out_w = w.min(MAX_WIDTH as usize).max(1);
    let out_h = (h * out_w / w.max(1)).max(1);
    let mut pixels = Vec::with_capacity(out_w * out_h * 3);
    for oy in 0..out_h {
        let line = &frame[oy * h / out_h * stride..][..stride];
        for ox in 0..out_w {
            let x = ox * w / out_w;
            let px = match format.coding {
                VideoCoding::V210 => {
                    let (y, cb, cr) = v210_pixel(line, x);
                    rgb(y, cb, cr)
                }
                VideoCoding::Uyvy => {
                    let pair = &line[x / 2 * 4..x / 2 * 4 + 4];
                    let y = if x % 2 == 0 { pair[1] } else { pair[3] };
                    rgb(u16::from(y) << 2, u16::from(pair[0]) << 2, u16::from(pair[2]) << 2)
                }
                _ => [line[x * 4], line[x * 4 + 1], line[x * 4 + 2]],
            };
            pixels.extend_from_slice(&px);
        }
    }
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 80);
    let (ew, eh) = (out_w as u16, out_h as u16);
    encoder.encode(&pixels, ew, eh, jpeg_encoder::ColorType::Rgb).map_err(|e| ThumbnailError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use stagebox_flow::Rational;

    #[test]
    fn bars_become_a_small_jpeg_with_their_colours() {
        let format = VideoFormat::progressive(VideoCoding::V210, 1280, 720, Rational::new(25, 1).unwrap());
        let bars = stagebox_flow::pattern::v210_bars(1280, 720);
        // The first bar is 75% white, the last 75% blue.
        let line = &bars[..stagebox_flow::pattern::v210_line_bytes(1280)];
        let [r, g, b] = {
            let (y, cb, cr) = v210_pixel(line, 0);
            rgb(y, cb, cr)
        };
        assert!((185..=195).contains(&r) && (185..=195).contains(&g) && (185..=195).contains(&b), "{r} {g} {b}");
        let [r, g, b] = {
            let (y, cb, cr) = v210_pixel(line, 1279);
            rgb(y, cb, cr)
        };
        assert!(b > 150 && r < 30 && g < 30, "{r} {g} {b}");
        let out = jpeg(&format, &bars).unwrap();
        assert_eq!(&out[..2], [0xFF, 0xD8]);
        // SOF0 carries the size: 320 × 180.
        let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!((&out[sof + 5..sof + 7], &out[sof + 7..sof + 9]), (&[0, 180][..], &[1, 64][..]));
        assert!(matches!(jpeg(&format, &bars[..100]), Err(ThumbnailError::Short { .. })));
    }
}
