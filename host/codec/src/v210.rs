//! Native v210 reading: MXL's 10-bit 4:2:2 video (six pixels in four
//! little-endian 32-bit words, `Cb0 Y0 Cr0 | Y1 Cb1 Y2 | Cr1 Y3 Cb2 |
//! Y4 Cr2 Y5`, lines padded to 128 bytes per 48 pixels) into the 8-bit
//! 4:2:0 planes an H.264 encoder takes.
//!
//! Samples are rounded from 10 to 8 bits; a chroma sample of 4:2:0 is the
//! mean of the two lines' 4:2:2 samples at that place (a box filter, what
//! swscale's fast bilinear path does vertically).

use crate::CodecError;

/// Bytes of one v210 line of `width` pixels.
pub fn line_bytes(width: u32) -> usize {
    width.div_ceil(48) as usize * 128
}

/// One plane being written: its bytes and the distance between lines.
pub struct Plane<'a> {
    /// The plane's bytes.
    pub data: &'a mut [u8],
    /// Bytes from one line to the next.
    pub stride: usize,
}

/// Reads the 10-bit Y', Cb and Cr samples of one v210 line into `y`,
/// `cb` and `cr`, which hold whole blocks (a multiple of six and of three
/// samples).
fn unpack_line(line: &[u8], y: &mut [u16], cb: &mut [u16], cr: &mut [u16]) {
    let blocks =
        line.chunks_exact(16).zip(y.chunks_exact_mut(6)).zip(cb.chunks_exact_mut(3).zip(cr.chunks_exact_mut(3)));
    for ((block, y), (cb, cr)) in blocks {
        let s = |w: usize, k: u32| {
            let word = u32::from_le_bytes([block[w * 4], block[w * 4 + 1], block[w * 4 + 2], block[w * 4 + 3]]);
            (word >> (10 * k) & 0x3ff) as u16
        };
        y.copy_from_slice(&[s(0, 1), s(1, 0), s(1, 2), s(2, 1), s(3, 0), s(3, 2)]);
        cb.copy_from_slice(&[s(0, 0), s(1, 1), s(2, 2)]);
        cr.copy_from_slice(&[s(0, 2), s(2, 0), s(3, 1)]);
    }
}

/// 10 bits to 8, rounded.
fn eight(v: u16) -> u8 {
    ((v + 2) >> 2).min(255) as u8
}

/// Line `line` of a chroma plane: the mean of two lines' samples, rounded
/// to 8 bits.
fn mean_into(plane: &mut Plane<'_>, line: usize, samples: &[Vec<u16>; 2], count: usize) {
    let out = &mut plane.data[line * plane.stride..][..count];
    for ((o, a), b) in out.iter_mut().zip(&samples[0]).zip(&samples[1]) {
        *o = eight((a + b).div_ceil(2));
    }
}

/// Converts one v210 frame (`width` × `height`, both even) into 8-bit
/// 4:2:0 planes Y', Cb, Cr.
pub fn to_yuv420p(frame: &[u8], width: u32, height: u32, planes: [Plane<'_>; 3]) -> Result<(), CodecError> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) || width == 0 || height == 0 {
        return Err(CodecError::Config(format!("v210 to 4:2:0 needs an even size, not {width}×{height}")));
    }
    let stride = line_bytes(width);
    let (w, h) = (width as usize, height as usize);
    if frame.len() < stride * h {
        let needed = stride * h;
        return Err(CodecError::Config(format!(
            "a v210 frame of {} bytes; {width}×{height} needs {needed}",
            frame.len()
        )));
    }
    let [luma, mut cb_plane, mut cr_plane] = planes;
    let fits = |p: &Plane<'_>, pw: usize, ph: usize| p.stride >= pw && p.data.len() >= p.stride * (ph - 1) + pw;
    if !fits(&luma, w, h) || !fits(&cb_plane, w / 2, h / 2) || !fits(&cr_plane, w / 2, h / 2) {
        return Err(CodecError::Config("the 4:2:0 planes are too small for the frame".into()));
    }
    // Whole blocks of six pixels, two lines at a time.
    let padded = w.div_ceil(6) * 6;
    let mut y = vec![0u16; padded];
    let mut cb = [vec![0u16; padded / 2], vec![0u16; padded / 2]];
    let mut cr = [vec![0u16; padded / 2], vec![0u16; padded / 2]];
    for pair in 0..h / 2 {
        for k in 0..2 {
            let line = pair * 2 + k;
            unpack_line(&frame[line * stride..][..stride], &mut y, &mut cb[k], &mut cr[k]);
            for (o, v) in luma.data[line * luma.stride..][..w].iter_mut().zip(&y) {
                *o = eight(*v);
            }
        }
        mean_into(&mut cb_plane, pair, &cb, w / 2);
        mean_into(&mut cr_plane, pair, &cr, w / 2);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A v210 frame whose every sample is `f(line, plane, index)`.
    fn frame(width: u32, height: u32, f: impl Fn(usize, char, usize) -> u16) -> Vec<u8> {
        let stride = line_bytes(width);
        let mut out = vec![0u8; stride * height as usize];
        for line in 0..height as usize {
            for (b, block) in out[line * stride..][..stride].chunks_exact_mut(16).enumerate() {
                let (y, c) = (|i| f(line, 'y', b * 6 + i), |p, i| f(line, p, b * 3 + i));
                let words = [
                    [c('b', 0), y(0), c('r', 0)],
                    [y(1), c('b', 1), y(2)],
                    [c('r', 1), y(3), c('b', 2)],
                    [y(4), c('r', 2), y(5)],
                ];
                for (w, [a, m, z]) in words.iter().enumerate() {
                    let word = u32::from(*a) | u32::from(*m) << 10 | u32::from(*z) << 20;
                    block[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        out
    }

    #[test]
    fn samples_land_in_their_planes_rounded_and_chroma_averaged() {
        let (w, h) = (52u32, 4u32);
        // Distinct samples: luma by position, chroma by line and position.
        let src = frame(w, h, |line, plane, i| match plane {
            'y' => (64 + line * 100 + i * 4) as u16,
            'b' => (100 + line * 8 + i * 4) as u16,
            _ => (900 - line * 8 - i * 4) as u16,
        });
        let (mut y, mut cb, mut cr) = (vec![0u8; 64 * 4], vec![0u8; 32 * 2], vec![0u8; 32 * 2]);
        let planes = [
            Plane { data: &mut y, stride: 64 },
            Plane { data: &mut cb, stride: 32 },
            Plane { data: &mut cr, stride: 32 },
        ];
        to_yuv420p(&src, w, h, planes).unwrap();
        for line in 0..4 {
            for x in 0..52 {
                assert_eq!(y[line * 64 + x], ((64 + line * 100 + x * 4 + 2) >> 2) as u8, "Y' {x},{line}");
            }
        }
        for pair in 0..2 {
            for x in 0..26 {
                let (a, b) = (100 + pair * 16 + x * 4, 100 + (pair * 2 + 1) * 8 + x * 4);
                assert_eq!(cb[pair * 32 + x], (((a + b).div_ceil(2) + 2) >> 2) as u8, "Cb {x},{pair}");
                let (a, b) = (900 - pair * 16 - x * 4, 900 - (pair * 2 + 1) * 8 - x * 4);
                assert_eq!(cr[pair * 32 + x], (((a + b).div_ceil(2) + 2) >> 2) as u8, "Cr {x},{pair}");
            }
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        let convert = |frame: &[u8], w: u32, h: u32| {
            let (mut y, mut c, mut d) = (vec![0u8; 16], vec![0u8; 16], vec![0u8; 16]);
            let planes = [
                Plane { data: &mut y, stride: 4 },
                Plane { data: &mut c, stride: 2 },
                Plane { data: &mut d, stride: 2 },
            ];
            to_yuv420p(frame, w, h, planes)
        };
        assert!(convert(&[0; 256], 4, 2).is_ok());
        assert!(convert(&[0; 256], 3, 2).is_err(), "odd width");
        assert!(convert(&[0; 100], 4, 2).is_err(), "short frame");
        assert!(convert(&[0; 128 * 8], 4, 8).is_err(), "planes too small");
    }
}
