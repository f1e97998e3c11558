//! Captions in H.264: ATSC A/53 cc_data in SEI user_data_registered_itu_t_t35
//! messages (country 0xB5, provider 0x0031, "GA94", type 0x03), found in
//! and put into Annex B access units.

use crate::h264::{NAL_AUD, NAL_SEI, escape, nal_spans, nal_units, unescape};

/// SEI payloadType of user_data_registered_itu_t_t35.
const SEI_T35: u32 = 4;
/// The A/53 user data header: ITU-T T.35 USA, ATSC, "GA94", cc_data.
const A53_HEADER: [u8; 8] = [0xb5, 0x00, 0x31, b'G', b'A', b'9', b'4', 0x03];

/// The cc_data triplets of every A/53 caption SEI in an H.264 access unit
/// (Annex B), in order. Malformed SEI messages are skipped.
pub fn cc_data_from_h264(access_unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nal_units(access_unit) {
        if nal.first().map(|h| h & 0x1f) != Some(NAL_SEI) {
            continue;
        }
        let rbsp = unescape(&nal[1..]);
        let mut rest = rbsp.as_slice();
        // sei_message()s until the rbsp trailing bits.
        while rest.len() > 1 {
            let (Some(kind), r) = sei_number(rest) else { break };
            let (Some(size), r) = sei_number(r) else { break };
            let Some(payload) = r.get(..size as usize) else { break };
            if kind == SEI_T35 {
                a53_cc_data(payload, &mut out);
            }
            rest = &r[size as usize..];
        }
    }
    out
}

/// An SEI payloadType or payloadSize: 0xFF bytes add 255 each.
fn sei_number(bytes: &[u8]) -> (Option<u32>, &[u8]) {
    let mut value = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        value = value.saturating_add(u32::from(b));
        if b != 0xff {
            return (Some(value), &bytes[i + 1..]);
        }
    }
    (None, &[])
}

/// Appends the triplets of one T.35 payload when it is A/53 cc_data.
fn a53_cc_data(payload: &[u8], out: &mut Vec<u8>) {
    let Some(body) = payload.strip_prefix(&A53_HEADER[..]) else { return };
    // process_cc_data_flag, cc_count, then em_data.
    let Some((&flags, body)) = body.split_first() else { return };
    if flags & 0x40 == 0 {
        return;
    }
    let count = usize::from(flags & 0x1f);
    if let Some(triplets) = body.get(1..1 + 3 * count) {
        out.extend_from_slice(triplets);
    }
}

/// An SEI NAL unit (with a 4-byte start code) carrying `triplets` (at most
/// 31) as A/53 cc_data.
pub fn a53_sei_nal(triplets: &[u8]) -> Vec<u8> {
    let count = (triplets.len() / 3).min(31);
    let mut payload = A53_HEADER.to_vec();
    payload.push(0xc0 | count as u8); // reserved, process_cc_data_flag
    payload.push(0xff); // em_data
    payload.extend_from_slice(&triplets[..count * 3]);
    payload.push(0xff); // marker_bits
    let mut rbsp = vec![SEI_T35 as u8];
    let mut size = payload.len();
    while size >= 255 {
        rbsp.push(0xff);
        size -= 255;
    }
    rbsp.push(size as u8);
    rbsp.extend(payload);
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = vec![0, 0, 0, 1, NAL_SEI];
    nal.extend(escape(&rbsp));
    nal
}

/// `access_unit` with `sei` (a whole NAL unit with start code) placed after
/// its access unit delimiter, or first when it has none, as H.264 §7.4.1.2.3
/// orders them.
pub fn insert_sei(access_unit: &[u8], sei: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(access_unit.len() + sei.len());
    let aud = nal_spans(access_unit).into_iter().next().filter(|&(s, _)| access_unit[s] & 0x1f == NAL_AUD);
    match aud {
        Some((_, end)) => {
            out.extend_from_slice(&access_unit[..end]);
            out.extend_from_slice(sei);
            out.extend_from_slice(&access_unit[end..]);
        }
        None => {
            out.extend_from_slice(sei);
            out.extend_from_slice(access_unit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sei_round_trip_after_the_aud() {
        // Zero bytes in the triplets make the escaping matter.
        let triplets = [0xfc, 0x94, 0x20, 0xfc, 0x00, 0x00, 0xfd, 0x80, 0x80];
        let au = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88, 0x84];
        let with = insert_sei(&au, &a53_sei_nal(&triplets));
        let kinds: Vec<u8> = nal_units(&with).map(|n| n[0] & 0x1f).collect();
        assert_eq!(kinds, [NAL_AUD, NAL_SEI, 5]);
        assert_eq!(cc_data_from_h264(&with), triplets);
        // Without an AUD the SEI goes first.
        let kinds: Vec<u8> = nal_units(&insert_sei(&au[6..], &a53_sei_nal(&triplets))).map(|n| n[0] & 0x1f).collect();
        assert_eq!(kinds, [NAL_SEI, 5]);
    }

    #[test]
    fn other_sei_and_garbage_are_skipped() {
        // A user_data_unregistered SEI (type 5), then a truncated T.35.
        let au = [0, 0, 1, 0x06, 0x05, 0x02, 0xaa, 0xbb, 0x04, 0x30, 0xb5, 0x80];
        assert!(cc_data_from_h264(&au).is_empty());
        assert!(cc_data_from_h264(&[0, 0, 1]).is_empty());
        assert!(cc_data_from_h264(&[0, 0, 1, 0x06, 0xff, 0xff]).is_empty());
    }
}
