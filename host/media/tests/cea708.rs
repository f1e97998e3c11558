//! The CEA-708 decoder on DTVCC streams written by `cea708-types`' writer
//! (the gst-plugins-rs maintainers' serializer) and by hand from the
//! CTA-708-E code tables.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use cea708_types::tables::*;
use cea708_types::{DTVCCPacket, Service};
use stagebox_media::captions::{Cea708Decoder, Cue};

const SECOND: u64 = 1_000_000_000;

/// cc_data triplets carrying one DTVCC packet with `codes` for `service`.
fn cc_data(seq: u8, blocks: &[(u8, Vec<Code>)]) -> Vec<u8> {
    let mut packet = DTVCCPacket::new(seq);
    for (number, codes) in blocks {
        let mut service = Service::new(*number);
        for code in codes {
            service.push_code(code).unwrap();
        }
        packet.push_service(service).unwrap();
    }
    let mut bytes = Vec::new();
    packet.write(&mut bytes).unwrap();
    triplets(&bytes)
}

fn triplets(packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, pair) in packet.chunks(2).enumerate() {
        out.push(if i == 0 { 0xff } else { 0xfe });
        out.extend([pair[0], *pair.get(1).unwrap_or(&0)]);
    }
    out
}

fn text(s: &str) -> Vec<Code> {
    s.chars().map(|c| Code::from_char(c).unwrap()).collect()
}

fn window(id: u8, visible: bool, rows: u8, v: u8, h: u8) -> Code {
    Code::DefineWindow(DefineWindowArgs::new(
        id,
        0,
        Anchor::TopLeft,
        false,
        v,
        h,
        rows - 1,
        31,
        true,
        true,
        visible,
        0,
        0,
    ))
}

/// Feeds packets (each at its pts) and flushes at `end`.
fn decode(service: u8, packets: &[(u64, Vec<u8>)], end: u64) -> (Vec<Cue>, Cea708Decoder) {
    let mut dec = Cea708Decoder::new(service);
    let mut cues = Vec::new();
    for (pts, data) in packets {
        cues.extend(dec.decode_cc(data, *pts));
    }
    cues.extend(dec.flush(end));
    (cues, dec)
}

#[test]
fn pop_on_style_a_hidden_window_shown_then_hidden() {
    let mut build = vec![window(1, false, 2, 60, 20), Code::SetPenLocation(SetPenLocationArgs::new(0, 2))];
    build.extend(text("Hello"));
    build.push(Code::CR);
    build.extend(text("world"));
    let packets = [
        (SECOND, cc_data(0, &[(1, build)])),
        (2 * SECOND, cc_data(1, &[(1, vec![Code::ToggleWindows(WindowBits::ONE)])])),
        (4 * SECOND, cc_data(2, &[(1, vec![Code::HideWindows(WindowBits::ONE)])])),
    ];
    let (cues, dec) = decode(1, &packets, 10 * SECOND);
    assert_eq!(cues.len(), 1, "{cues:?}");
    assert_eq!((cues[0].start, cues[0].end), (2 * SECOND, 4 * SECOND));
    // Each line starts at its first character; the cue's column is the
    // leftmost line's (row 1 starts at column 0 of the window).
    assert_eq!(cues[0].text, "Hello\nworld");
    assert_eq!(cues[0].line, Some(12), "anchor 60 of 75 is row 12 of 15");
    assert_eq!(cues[0].column, Some(3), "anchor 20 of 210 is column 3 of 32");
    assert_eq!(dec.stats().packets, 3);
    assert_eq!((dec.stats().bad_packets, dec.stats().sequence_gaps), (0, 0));
}

#[test]
fn roll_up_style_a_visible_window_grows_and_scrolls() {
    let mut first = vec![window(0, true, 2, 70, 0)];
    first.extend(text("ONE"));
    let mut more = vec![Code::CR];
    more.extend(text("TWO"));
    let mut scroll = vec![Code::CR];
    scroll.extend(text("THREE"));
    let packets = [
        (SECOND, cc_data(0, &[(1, first)])),
        (2 * SECOND, cc_data(1, &[(1, text(" MORE"))])),
        (3 * SECOND, cc_data(2, &[(1, more)])),
        (4 * SECOND, cc_data(3, &[(1, scroll)])),
    ];
    let (cues, _) = decode(1, &packets, 6 * SECOND);
    let got: Vec<_> = cues.iter().map(|c| (c.start / SECOND, c.end / SECOND, c.text.as_str())).collect();
    assert_eq!(
        got,
        [(1, 4, "ONE MORE\nTWO"), (4, 6, "TWO\nTHREE")],
        "appended text extends the cue; a scroll starts a new one"
    );
}

#[test]
fn pen_attributes_and_colours_become_style_tags() {
    let pen = |italics, underline| {
        Code::SetPenAttributes(SetPenAttributesArgs::new(
            PenSize::Standard,
            FontStyle::Default,
            TextTag::Dialog,
            TextOffset::Normal,
            italics,
            underline,
            EdgeType::None,
        ))
    };
    let yellow = Color::new(ColorValue::Full, ColorValue::Full, ColorValue::None);
    let mut codes = vec![window(0, true, 1, 70, 0), pen(true, false)];
    codes.extend(text("soft"));
    codes.push(pen(false, true));
    codes.push(Code::SetPenColor(SetPenColorArgs::new(
        yellow,
        Opacity::Solid,
        Color::BLACK,
        Opacity::Solid,
        Color::BLACK,
    )));
    codes.extend(text("LOUD"));
    let (cues, _) = decode(1, &[(0, cc_data(0, &[(1, codes)]))], SECOND);
    assert_eq!(cues[0].text, "<i>soft</i><c.yellow><u>LOUD</u></c>");
    assert!(cues[0].styled);
    assert_eq!(cues[0].plain_text(), "softLOUD");
}

#[test]
fn only_the_chosen_service_is_decoded() {
    let mut one = vec![window(0, true, 1, 70, 0)];
    one.extend(text("English"));
    let mut two = vec![window(0, true, 1, 70, 0)];
    two.extend(text("Espanol"));
    let packet = cc_data(0, &[(1, one), (2, two)]);
    for (service, want) in [(1, "English"), (2, "Espanol")] {
        let (cues, _) = decode(service, &[(0, packet.clone())], SECOND);
        assert_eq!(cues[0].text, want);
    }
    let (cues, _) = decode(3, &[(0, packet)], SECOND);
    assert!(cues.is_empty());
}

#[test]
fn g1_and_g2_characters() {
    let mut codes = vec![window(0, true, 1, 70, 0)];
    codes.extend([Code::LatinCapitalC, Code::LatinLowerA, Code::LatinLowerF, Code::LatinLowerEWithAcute]);
    codes.push(Code::Ext1(Ext1::TradeMarkSign));
    codes.push(Code::Ext1(Ext1::HorizontalElipses));
    let (cues, _) = decode(1, &[(0, cc_data(0, &[(1, codes)]))], SECOND);
    assert_eq!(cues[0].text, "Café™…");
}

#[test]
fn commands_written_by_hand_from_the_code_tables() {
    // DefineWindow 0 (0x98: visible, 1 row, 32 columns), "AB", BS, "C",
    // then in a second packet FF (0x0C) and "D", then DeleteWindows (0x8C)
    // of window 0.
    let p1 = [0x07, 0x2b, 0x98, 0x38, 0x00, 0x00, 0x00, 0x1f, 0x11, 0x41, 0x42, 0x08, 0x43, 0x00];
    let p2 = [0x42, 0x22, 0x0c, 0x44];
    let p3 = [0x82, 0x22, 0x8c, 0x01];
    let (cues, dec) =
        decode(1, &[(SECOND, triplets(&p1)), (2 * SECOND, triplets(&p2)), (3 * SECOND, triplets(&p3))], 5 * SECOND);
    let got: Vec<_> = cues.iter().map(|c| (c.start / SECOND, c.end / SECOND, c.text.as_str())).collect();
    assert_eq!(got, [(1, 2, "AC"), (2, 3, "D")]);
    assert_eq!(dec.stats().packets, 3);
}

#[test]
fn bad_packets_are_counted_and_dropped_whole() {
    let mut good = vec![window(0, true, 1, 70, 0)];
    good.extend(text("OK"));
    // A service block that claims 9 bytes in a 4-byte packet.
    let truncated = triplets(&[0x02, 0x29, 0x41, 0x41]);
    // A header, then a new header before the packet is complete.
    let mut cut = triplets(&[0x04, 0x23, 0x41, 0x42]);
    cut.truncate(3);
    let packets = [(0, truncated), (SECOND, cut), (2 * SECOND, cc_data(3, &[(1, good)]))];
    let (cues, dec) = decode(1, &packets, 3 * SECOND);
    assert_eq!(dec.stats().bad_packets, 2, "{:?}", dec.stats());
    assert_eq!(dec.stats().packets, 1);
    assert_eq!(cues.len(), 1);
    assert_eq!((cues[0].start, cues[0].text.as_str()), (2 * SECOND, "OK"), "the decoder recovers");
}

#[test]
fn lost_packets_show_as_sequence_gaps() {
    let packets: Vec<_> = [0u8, 1, 3, 0].iter().map(|&seq| (0, cc_data(seq, &[(1, text("x"))]))).collect();
    let (_, dec) = decode(1, &packets, SECOND);
    assert_eq!(dec.stats().sequence_gaps, 1);
}

#[test]
fn cea608_triplets_and_padding_are_ignored() {
    // Field 1 608 pairs, invalid 708 triplets, then a real packet.
    let mut data = vec![0xfc, 0x94, 0x20, 0xfd, 0x80, 0x80, 0xfa, 0x00, 0x00];
    let mut codes = vec![window(0, true, 1, 70, 0)];
    codes.extend(text("708"));
    data.extend(cc_data(0, &[(1, codes)]));
    let (cues, dec) = decode(1, &[(0, data)], SECOND);
    assert_eq!(cues[0].text, "708");
    assert_eq!(dec.stats().bad_packets, 0);
}
