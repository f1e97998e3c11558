//! Test patterns for examples, tests and benchmarks.

/// 10-bit Y'CbCr of SMPTE 75% colour bars: white, yellow, cyan, green,
/// magenta, red, blue (ITU-R BT.709, narrow range).
const BARS: [(u16, u16, u16); 7] = [
    (721, 512, 512),
    (674, 176, 543),
    (581, 589, 176),
    (534, 253, 207),
    (251, 771, 817),
    (204, 435, 848),
    (111, 848, 481),
];

/// Bytes of one v210 line of `width` pixels (48 pixels per 128 bytes).
pub fn v210_line_bytes(width: u32) -> usize {
    width.div_ceil(48) as usize * 128
}

/// One v210 frame of 75% colour bars, `width` × `lines`.
pub fn v210_bars(width: u32, lines: u32) -> Vec<u8> {
    let stride = v210_line_bytes(width);
    let mut line = vec![0u8; stride];
    // Six pixels per 16-byte block: Cb0 Y0 Cr0 | Y1 Cb1 Y2 | Cr1 Y3 Cb2 | Y4 Cr2 Y5.
    for (block, out) in line.chunks_exact_mut(16).enumerate() {
        let px = |i: usize| {
            let x = (block * 6 + i) as u32;
            BARS[(x * 7 / width.max(1)).min(6) as usize]
        };
        let (c0, c2, c4) = (px(0), px(2), px(4));
        let words = [[c0.1, px(0).0, c0.2], [px(1).0, c2.1, px(2).0], [c2.2, px(3).0, c4.1], [px(4).0, c4.2, px(5).0]];
        for (w, [a, b, c]) in words.iter().enumerate() {
            let word = u32::from(*a) | u32::from(*b) << 10 | u32::from(*c) << 20;
            out[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
    line.repeat(lines as usize)
}

/// Paints line `line` of a v210 frame white: a marker that moves with time.
pub fn v210_mark_line(frame: &mut [u8], width: u32, line: u32) {
    let stride = v210_line_bytes(width);
    let start = line as usize * stride;
    if let Some(row) = frame.get_mut(start..start + stride) {
        let white = 940u32 | 940 << 10 | 940 << 20;
        let chroma = 512u32 | 940 << 10 | 512 << 20;
        for (i, word) in row.chunks_exact_mut(4).enumerate() {
            word.copy_from_slice(&if i % 2 == 0 { chroma } else { white }.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_v210_geometry_and_start_white() {
        let f = v210_bars(1920, 2);
        assert_eq!(f.len(), 5120 * 2);
        let w0 = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
        assert_eq!((w0 & 0x3ff, (w0 >> 10) & 0x3ff, (w0 >> 20) & 0x3ff), (512, 721, 512));
        // The last pixel of the line is blue (Y 111).
        let last = &f[5120 - 16..5120];
        let w3 = u32::from_le_bytes([last[12], last[13], last[14], last[15]]);
        assert_eq!((w3 >> 20) & 0x3ff, 111);
    }
}
