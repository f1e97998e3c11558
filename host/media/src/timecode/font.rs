//! A 5×7 bitmap font for the characters of a timecode.

/// Glyph width and height in font pixels.
pub(crate) const WIDTH: usize = 5;
pub(crate) const HEIGHT: usize = 7;

/// The rows of `ch`, top first; bit 4 is the leftmost pixel. `None` for a
/// character the font does not have.
pub(crate) fn glyph(ch: char) -> Option<[u8; HEIGHT]> {
    Some(match ch {
        '0' => [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        '1' => [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        '2' => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        '3' => [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        '4' => [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        '5' => [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        '6' => [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        '7' => [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        '8' => [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        '9' => [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        ':' => [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000],
        ';' => [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b00100, 0b01000],
        ' ' => [0; HEIGHT],
        _ => return None,
    })
}

/// Whether pixel (`x`, `y`) of `ch`'s glyph is lit.
pub(crate) fn lit(ch: char, x: usize, y: usize) -> bool {
    glyph(ch).is_some_and(|rows| x < WIDTH && y < HEIGHT && rows[y] >> (WIDTH - 1 - x) & 1 == 1)
}
