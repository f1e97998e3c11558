//! Burned-in timecode, read back through ffmpeg: our UYVY, v210 and RGBA
//! frames are decoded by ffmpeg to 8-bit luma, the box is where it should
//! be, every pixel outside it is untouched, and the glyphs read back as the
//! label.

#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use stagebox_media::timecode::*;
use std::path::Path;
use support::ffmpeg;

const W: usize = 1920;
const H: usize = 1080;

fn stride(layout: Layout) -> usize {
    match layout {
        Layout::Uyvy => W * 2,
        Layout::V210 => W.div_ceil(48) * 128,
        Layout::Rgba => W * 4,
    }
}

/// A frame with a gradient, so "untouched" means something.
fn picture(layout: Layout) -> Vec<u8> {
    let s = stride(layout);
    let mut data = vec![0u8; s * H];
    for y in 0..H {
        for x in 0..s {
            data[y * s + x] = ((x * 7 + y * 3) % 200 + 20) as u8;
        }
    }
    data
}

/// ffmpeg's reading of a frame as 8-bit luma, W×H.
fn luma(dir: &Path, layout: Layout, data: &[u8], name: &str) -> Vec<u8> {
    let raw = format!("{name}.raw");
    std::fs::write(dir.join(&raw), data).unwrap();
    let size = format!("{W}x{H}");
    let input: Vec<&str> = match layout {
        Layout::Uyvy => vec!["-f", "rawvideo", "-pix_fmt", "uyvy422", "-s", &size],
        Layout::V210 => vec!["-f", "v210", "-s", &size],
        Layout::Rgba => vec!["-f", "rawvideo", "-pix_fmt", "rgba", "-s", &size],
    };
    let gray = format!("{name}.gray");
    let mut args = input;
    args.extend(["-i", &raw, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", &gray]);
    ffmpeg(&args, dir);
    let out = std::fs::read(dir.join(&gray)).unwrap();
    assert_eq!(out.len(), W * H);
    out
}

/// Reads the characters in a box drawn at `scale`: each 5×7 glyph's lit
/// pattern is matched against the font's glyphs drawn alone.
fn read_back(gray: &[u8], (x, y, w, h): (usize, usize, usize, usize), scale: usize, text_len: usize) -> String {
    let alphabet = "0123456789:; ";
    let lit = |fx: usize, fy: usize| {
        // The centre of the font pixel.
        let (px, py) = (x + (fx + 1) * scale + scale / 2, y + (fy + 1) * scale + scale / 2);
        assert!(px < x + w && py < y + h);
        gray[py * W + px] > 128
    };
    (0..text_len)
        .map(|i| {
            let pattern: Vec<bool> =
                (0..7).flat_map(|fy| (0..5).map(move |fx| (fx, fy))).map(|(fx, fy)| lit(i * 6 + fx, fy)).collect();
            alphabet.chars().find(|&c| template(c) == pattern).unwrap_or('?')
        })
        .collect()
}

/// A glyph's lit pixels, from drawing it alone with no margin.
fn template(c: char) -> Vec<bool> {
    let (bw, bh) = box_size(1, 1);
    let mut data = vec![0u8; bw * bh * 4];
    let mut f = Frame { data: &mut data, layout: Layout::Rgba, width: bw, height: bh, stride: bw * 4 };
    burn_text(&mut f, &c.to_string(), Placement { x: Some(0), y: Some(0), scale: Some(1) }).unwrap();
    (0..7)
        .flat_map(|fy| (0..5).map(move |fx| (fx, fy)))
        .map(|(fx, fy)| data[((fy + 1) * bw + fx + 1) * 4] == 255)
        .collect()
}

#[test]
fn burned_timecode_reads_back_through_ffmpeg_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let c = Counting::new(30000, 1001, None).unwrap();
    let label = c.label(c.frame(&"01:02:03;04".parse().unwrap()).unwrap()).to_string();
    assert_eq!(label, "01:02:03;04");
    for layout in [Layout::Uyvy, Layout::V210, Layout::Rgba] {
        let name = format!("{layout:?}");
        let before = picture(layout);
        let mut after = before.clone();
        let mut frame = Frame { data: &mut after, layout, width: W, height: H, stride: stride(layout) };
        let placed = burn_text(&mut frame, &label, Placement { x: None, y: None, scale: None }).unwrap();
        let (x, y, w, h) = placed;
        // Centred (on the chroma grid), a twentieth of the height up, 4× at 1080 lines.
        // 11 cells at 4× (a 1080-line frame), widened to whole chroma groups.
        let align = match layout {
            Layout::Uyvy => 2,
            Layout::V210 => 6,
            Layout::Rgba => 1,
        };
        assert_eq!((w, h), (box_size(11, 4).0.div_ceil(align) * align, 36), "{name}");
        assert!(x.abs_diff((W - w) / 2) < 6 && y == H - h - H / 20, "{name}: {placed:?}");
        let old = luma(dir.path(), layout, &before, &format!("{name}-before"));
        let new = luma(dir.path(), layout, &after, &format!("{name}-after"));
        for py in 0..H {
            for px in 0..W {
                let inside = px >= x && px < x + w && py >= y && py < y + h;
                let (o, n) = (old[py * W + px], new[py * W + px]);
                if inside {
                    assert!(!(40..=200).contains(&n), "{name}: ({px},{py}) = {n}: neither black nor white");
                } else {
                    assert_eq!(o, n, "{name}: ({px},{py}) outside the box changed");
                }
            }
        }
        assert_eq!(read_back(&new, placed, 4, 11), label, "{name}");
        // Byte for byte, chroma included, nothing outside the box's bytes changed.
        let (from, to) = match layout {
            Layout::Uyvy => (x * 2, (x + w) * 2),
            Layout::V210 => (x / 6 * 16, (x + w) / 6 * 16),
            Layout::Rgba => (x * 4, (x + w) * 4),
        };
        let s = stride(layout);
        for line in 0..H {
            let (a, b) = (&before[line * s..(line + 1) * s], &after[line * s..(line + 1) * s]);
            if (y..y + h).contains(&line) {
                assert_eq!((&a[..from], &a[to..]), (&b[..from], &b[to..]), "{name}: line {line}");
            } else {
                assert_eq!(a, b, "{name}: line {line}");
            }
        }
    }
}

#[test]
fn frames_that_cannot_hold_the_box_are_refused() {
    let mut small = vec![0u8; 64 * 16 * 2];
    let mut f = Frame { data: &mut small, layout: Layout::Uyvy, width: 64, height: 16, stride: 128 };
    assert!(matches!(
        burn_text(&mut f, "00:00:00:00", Placement { x: None, y: None, scale: None }),
        Err(BurnError::TooSmall { .. })
    ));
    let mut short = vec![0u8; 100];
    let mut f = Frame { data: &mut short, layout: Layout::V210, width: 1920, height: 1080, stride: 5120 };
    assert!(matches!(burn_text(&mut f, "1", Placement { x: None, y: None, scale: None }), Err(BurnError::Size { .. })));
    let mut ok = vec![0u8; 1920 * 1080 * 4];
    let mut f = Frame { data: &mut ok, layout: Layout::Rgba, width: 1920, height: 1080, stride: 7680 };
    assert_eq!(burn_text(&mut f, "12:AB", Placement { x: None, y: None, scale: None }), Err(BurnError::Glyph('A')));
}
