//! Cues to CEA-608 byte pairs, as pop-on captions, one pair per frame.
//!
//! Each cue is loaded into non-displayed memory (RCL, ENM, then a PAC and
//! text per line) in the frames before it is due, shown with EOC on the
//! frame of its start, and erased with EDM on the frame of its end unless
//! the next cue replaces it there. Control codes are sent twice in
//! consecutive frames, as broadcast practice and the standard's decoders
//! expect. A cue whose load does not fit between the previous caption's EOC
//! and its own start is shown as soon after its start as it fits, not
//! dropped.

use super::time::FrameRate;
use super::{CaptionError, Channel608, Cue};
use cea608_types::tables::{Code, Control, ControlCode, Field, PreambleAddressCode, PreambleType};
use std::collections::BTreeMap;

/// Padding: two NULs with odd parity.
pub(crate) const PADDING: [u8; 2] = [0x80, 0x80];

/// `b` with odd parity in bit 7.
pub(crate) fn parity(b: u8) -> u8 {
    if (b & 0x7f).count_ones().is_multiple_of(2) { b | 0x80 } else { b & 0x7f }
}

/// The pair of `control` on `channel`, with parity (the field bit of the
/// miscellaneous codes and the channel bit set by `cea608-types`).
pub(crate) fn control(channel: Channel608, control: Control) -> [u8; 2] {
    let field = if channel.field() == 1 { Field::TWO } else { Field::ONE };
    let mut bytes = [0; 2];
    Code::Control(ControlCode::new(field, channel.data_channel(), control)).write_into(&mut bytes);
    bytes
}

/// A preamble address code: `row` 0–14, white, indent `column / 4 * 4`.
fn pac(channel: Channel608, row: u8, column: u8) -> [u8; 2] {
    let indent = PreambleType::from_indent(column.min(31) / 4 * 4).unwrap_or(PreambleType::Indent0);
    control(channel, Control::PreambleAddress(PreambleAddressCode::new(row.min(14), false, indent)))
}

/// The standard character shown by decoders that lack an extended one.
fn fallback(c: char) -> u8 {
    let base = match c {
        'À'..='Å' => 'A',
        'à'..='å' => 'a',
        'Ç' => 'C',
        'ç' => 'c',
        'È'..='Ë' => 'E',
        'è'..='ë' => 'e',
        'Ì'..='Ï' => 'I',
        'ì'..='ï' => 'i',
        'Ò'..='Ö' | 'Ø' => 'O',
        'ò'..='ö' | 'ø' => 'o',
        'Ù'..='Ü' => 'U',
        'ù'..='ü' => 'u',
        '«' | '»' | '“' | '”' => '"',
        '‘' | '’' => '\'',
        _ => ' ',
    };
    base as u8
}

/// Pairs that go in consecutive frames: one pair, or a control code and its
/// repeat.
type Unit = Vec<[u8; 2]>;

/// What to send for one line of text, as units.
fn line_units(channel: Channel608, text: &str, index: usize, units: &mut Vec<Unit>) -> Result<(), CaptionError> {
    let data_channel = channel.data_channel();
    let mut pending: Option<u8> = None;
    let flush = |pending: &mut Option<u8>, second: u8, units: &mut Vec<Unit>| {
        if let Some(first) = pending.take() {
            units.push(vec![[first, second]]);
        }
    };
    for c in text.chars() {
        // A typed apostrophe goes as the standard set's 0x27, which decoders
        // (ours, ffmpeg, pycaption) show as '’'; cea608-types would pick the
        // extended 0x12 0x29, which ffmpeg shows as '‘'.
        let c = if c == '\'' { '’' } else { c };
        let code = Code::from_char(c, data_channel)
            .ok_or_else(|| CaptionError::Cue { index, reason: format!("{c:?} has no CEA-608 character") })?;
        let mut bytes = [0u8; 2];
        let len = code.write_into(&mut bytes);
        if len == 1 {
            match pending {
                Some(_) => flush(&mut pending, bytes[0], units),
                None => pending = Some(bytes[0]),
            }
            continue;
        }
        // Special and extended characters are control codes, sent twice.
        if code.needs_backspace() {
            let base = parity(fallback(c));
            match pending {
                Some(_) => flush(&mut pending, base, units),
                None => units.push(vec![[base, PADDING[1]]]),
            }
        } else {
            flush(&mut pending, PADDING[1], units);
        }
        units.push(vec![bytes, bytes]);
    }
    flush(&mut pending, PADDING[1], units);
    Ok(())
}

/// Encodes `cues` as pop-on captions on `channel`: the pairs to send, one
/// per frame at `rate` from media time `start` (ns) to the last cue's end,
/// with padding where there is nothing to send. Cues are shown in order of
/// start; a cue that overlaps the next is cut where the next begins.
///
/// The longest span an encoding covers: 24 hours, in ns.
const MAX_SPAN_NS: u64 = 24 * 3600 * 1_000_000_000;

/// Errors name the cue: a character 608 cannot show, a line wider than 32
/// columns, more than 15 lines, a cue that starts before `start`, or one
/// that ends more than 24 hours after it.
pub fn encode_cea608(
    cues: &[Cue],
    channel: Channel608,
    start: u64,
    rate: FrameRate,
) -> Result<Vec<[u8; 2]>, CaptionError> {
    let mut order: Vec<usize> = (0..cues.len()).collect();
    order.sort_by_key(|&i| (cues[i].start, i));
    let mut slots: BTreeMap<u64, [u8; 2]> = BTreeMap::new();
    let frame = |ns: u64| rate.frame_at(ns.saturating_sub(start));
    // Frames before this one belong to the previous caption's load.
    let mut floor = 0u64;
    for (k, &i) in order.iter().enumerate() {
        let cue = &cues[i];
        if cue.start < start {
            return Err(CaptionError::Cue { index: i, reason: "starts before the encoding does".into() });
        }
        // The pairs are one a frame: a cue a year in would need that many.
        // 608 timecode (SCC's) runs to 23:59:59;29.
        if cue.end.saturating_sub(start) > MAX_SPAN_NS {
            return Err(CaptionError::Cue {
                index: i,
                reason: "ends more than 24 hours in; 608 timecode stops there".into(),
            });
        }
        let text = cue.plain_text();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > 15 {
            return Err(CaptionError::Cue { index: i, reason: format!("{} lines; 608 shows at most 15", lines.len()) });
        }
        let column = cue.column.unwrap_or(0);
        let (rcl, enm) =
            (control(channel, Control::ResumeCaptionLoading), control(channel, Control::EraseNonDisplayedMemory));
        let mut units = vec![vec![rcl, rcl], vec![enm, enm]];
        let top = cue.line.map_or(15 - lines.len(), usize::from).min(15 - lines.len());
        for (n, line) in lines.iter().enumerate() {
            if usize::from(column) + line.chars().count() > 32 {
                return Err(CaptionError::Cue {
                    index: i,
                    reason: format!("line {:?} is wider than 32 columns", line),
                });
            }
            let p = pac(channel, (top + n) as u8, column);
            units.push(vec![p, p]);
            if let Some(offset) = Control::tab_offset(column % 4) {
                let t = control(channel, offset);
                units.push(vec![t, t]);
            }
            line_units(channel, line, i, &mut units)?;
        }
        let needed: u64 = units.iter().map(|u| u.len() as u64).sum();
        // The EOC goes on the cue's frame, or as soon after it as the load
        // fits between the previous caption's frames and it.
        let mut eoc = frame(cue.start).max(floor + needed);
        let placed = loop {
            if free(&slots, eoc, 2)
                && let Some(placed) = place_before(&slots, &units, floor, eoc)
            {
                break placed;
            }
            eoc += 1;
        };
        for (a, unit) in placed {
            for (j, p) in unit.iter().enumerate() {
                slots.insert(a + j as u64, *p);
            }
        }
        let eoc_pair = control(channel, Control::EndOfCaption);
        slots.insert(eoc, eoc_pair);
        slots.insert(eoc + 1, eoc_pair);
        floor = eoc + 2;
        // Erase at the end, unless the next cue is shown by then.
        let next_start = order.get(k + 1).map(|&j| cues[j].start);
        if next_start.is_none_or(|n| n > cue.end) {
            let mut edm = frame(cue.end).max(floor);
            while !free(&slots, edm, 2) {
                edm += 1;
            }
            let edm_pair = control(channel, Control::EraseDisplayedMemory);
            slots.insert(edm, edm_pair);
            slots.insert(edm + 1, edm_pair);
        }
    }
    let last = slots.keys().next_back().map_or(0, |f| f + 1);
    Ok((0..last).map(|f| slots.get(&f).copied().unwrap_or(PADDING)).collect())
}

fn free(slots: &BTreeMap<u64, [u8; 2]>, at: u64, len: u64) -> bool {
    slots.range(at..at + len).next().is_none()
}

/// Places `units` in the latest free frames in `floor..eoc`, in order, each
/// unit's pairs in consecutive frames; `None` if they do not fit.
fn place_before<'u>(
    slots: &BTreeMap<u64, [u8; 2]>,
    units: &'u [Unit],
    floor: u64,
    eoc: u64,
) -> Option<Vec<(u64, &'u Unit)>> {
    let mut limit = eoc;
    let mut placed = Vec::with_capacity(units.len());
    for unit in units.iter().rev() {
        let len = unit.len() as u64;
        let mut at = limit.checked_sub(len)?;
        while at >= floor && !free(slots, at, len) {
            at = at.checked_sub(1)?;
        }
        if at < floor {
            return None;
        }
        placed.push((at, unit));
        limit = at;
    }
    Some(placed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::Cea608Decoder;
    use super::*;

    fn decode(pairs: &[[u8; 2]], channel: Channel608, rate: FrameRate) -> Vec<Cue> {
        let mut dec = Cea608Decoder::new(channel);
        let mut cues = Vec::new();
        for (f, p) in pairs.iter().enumerate() {
            cues.extend(dec.decode_pair(channel.field(), *p, rate.frame_start(f as u64)));
        }
        cues.extend(dec.flush(rate.frame_start(pairs.len() as u64)));
        cues
    }

    #[test]
    fn cues_come_back_with_their_text_and_frame_times() {
        let rate = FrameRate::NTSC;
        let s = 1_000_000_000;
        let cues = vec![
            Cue::new(2 * s, 4 * s, "Hello, world!"),
            Cue::new(4 * s, 6 * s, "Two lines\nand ♪ música ♪"),
            Cue::new(8 * s, 9 * s, "Ça va? «Oui»"),
        ];
        for channel in [Channel608::Cc1, Channel608::Cc2, Channel608::Cc3, Channel608::Cc4] {
            let pairs = encode_cea608(&cues, channel, 0, rate).unwrap();
            let back = decode(&pairs, channel, rate);
            assert_eq!(back.len(), 3, "{channel:?}: {back:?}");
            for (a, b) in cues.iter().zip(&back) {
                assert_eq!(a.text, b.text);
                assert_eq!(b.start, rate.frame_start(rate.frame_at(a.start)));
                assert_eq!(b.end, rate.frame_start(rate.frame_at(a.end)));
            }
        }
    }

    #[test]
    fn positions_survive() {
        let mut cue = Cue::new(1_000_000_000, 2_000_000_000, "X");
        cue.line = Some(3);
        cue.column = Some(6);
        let pairs = encode_cea608(&[cue], Channel608::Cc1, 0, FrameRate::NTSC).unwrap();
        let back = decode(&pairs, Channel608::Cc1, FrameRate::NTSC);
        assert_eq!((back[0].line, back[0].column), (Some(3), Some(6)));
    }

    #[test]
    fn bad_cues_are_named() {
        let r = FrameRate::NTSC;
        let wide = Cue::new(0, 1, "x".repeat(33));
        assert!(matches!(encode_cea608(&[wide], Channel608::Cc1, 0, r), Err(CaptionError::Cue { index: 0, .. })));
        let cjk = Cue::new(0, 1, "字");
        assert!(matches!(encode_cea608(&[cjk], Channel608::Cc1, 0, r), Err(CaptionError::Cue { index: 0, .. })));
        // 999,900 hours in (found by the caption_text fuzz target: a frame
        // a pair, it ran out of memory); refused, not attempted.
        let far = Cue::new(1_000_000_000, 999_900 * 3_600_000_000_000, "far");
        let e = encode_cea608(&[far], Channel608::Cc1, 0, r).unwrap_err().to_string();
        assert!(e.contains("24 hours"), "{e}");
    }

    #[test]
    fn a_cue_with_no_room_to_load_is_shown_late_not_dropped() {
        let r = FrameRate::NTSC;
        let s = 1_000_000_000;
        let cues = vec![Cue::new(s, 2 * s, "A"), Cue::new(2 * s + 1, 4 * s, &*"B".repeat(32))];
        let back = decode(&encode_cea608(&cues, Channel608::Cc1, 0, r).unwrap(), Channel608::Cc1, r);
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].text, "B".repeat(32));
        assert!(back[1].start > 2 * s);
    }
}
