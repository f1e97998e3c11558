//! What a master playlist says of a variant before a player loads it,
//! read from a segment: `CODECS` (RFC 6381, as RFC 8216 §4.4.6.2 asks) and
//! `RESOLUTION`.

use crate::h264::{NAL_SPS, nal_units, sps_info};
use crate::ts::{Demuxer, Event, STREAM_TYPE_H264};
use std::collections::BTreeMap;

/// ADTS AAC (ISO/IEC 13818-7).
const STREAM_TYPE_AAC: u8 = 0x0f;

/// A variant's attributes, as far as a segment shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variant {
    /// `avc1.PPCCLL` and `mp4a.40.N` for the H.264 and ADTS AAC streams
    /// (`"avc1.64001f,mp4a.40.2"`), video first. `None` when a stream the
    /// player would play is of another kind (HEVC, MPEG-2, AC-3, …) or its
    /// first access unit is not in the segment: a `CODECS` that leaves a
    /// stream out would make players refuse it, so it is better left off.
    pub codecs: Option<String>,
    /// The picture size from the H.264 SPS.
    pub resolution: Option<(u32, u32)>,
}

/// What `segment` (a transport stream segment) shows of its variant.
pub fn describe(segment: &[u8]) -> Variant {
    let mut resolution = None;
    let codecs = codecs(segment, &mut resolution);
    Variant { codecs, resolution }
}

fn codecs(segment: &[u8], resolution: &mut Option<(u32, u32)>) -> Option<String> {
    let mut demux = Demuxer::new();
    let mut kinds: BTreeMap<u16, u8> = BTreeMap::new();
    let mut found: BTreeMap<u16, String> = BTreeMap::new();
    for event in demux.push(segment).into_iter().chain(demux.finish()) {
        match event {
            Event::Pmt { pmt, .. } => {
                for s in pmt.streams {
                    kinds.insert(s.pid, s.stream_type);
                }
            }
            Event::Pes { pid, pes } if !found.contains_key(&pid) => {
                let codec = match kinds.get(&pid) {
                    Some(&STREAM_TYPE_H264) => {
                        let sps = nal_units(&pes.payload).find(|n| n.first().map(|h| h & 0x1f) == Some(NAL_SPS));
                        *resolution = resolution.or(sps.and_then(sps_info).map(|i| (i.width, i.height)));
                        avc1(&pes.payload)
                    }
                    Some(&STREAM_TYPE_AAC) => mp4a(&pes.payload),
                    _ => None,
                };
                if let Some(codec) = codec {
                    found.insert(pid, codec);
                }
            }
            _ => {}
        }
    }
    // Every stream but private sections, DSM-CC, metadata and SCTE-35
    // must be named (0x06, PES private data, may be AC-3 or subtitles:
    // unknown, so no CODECS).
    let playable = kinds.iter().filter(|(_, t)| !matches!(**t, 0x05 | 0x0d | 0x15 | 0x86)).count();
    if playable == 0 || found.len() != playable {
        return None;
    }
    let mut list: Vec<String> = found.into_values().collect();
    list.sort_by_key(|c| !c.starts_with("avc1"));
    Some(list.join(","))
}

/// From the first SPS in an H.264 access unit: profile_idc, the
/// constraint flags and level_idc.
fn avc1(es: &[u8]) -> Option<String> {
    let at = es.windows(4).position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7)?;
    let sps = es.get(at + 4..at + 7)?;
    Some(format!("avc1.{:02x}{:02x}{:02x}", sps[0], sps[1], sps[2]))
}

/// From the first ADTS header: the audio object type (profile + 1).
fn mp4a(es: &[u8]) -> Option<String> {
    let header = es.get(..3)?;
    if header[0] != 0xff || header[1] & 0xf0 != 0xf0 {
        return None;
    }
    Some(format!("mp4a.40.{}", (header[2] >> 6) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sps_and_adts_headers_name_their_codecs() {
        // An SPS of High profile (100), no constraints, level 3.1.
        assert_eq!(avc1(&[0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac]).as_deref(), Some("avc1.64001f"));
        assert_eq!(avc1(&[0, 0, 1, 0x65, 0x88]), None, "an IDR slice without its SPS");
        // ADTS, AAC LC (profile 1).
        assert_eq!(mp4a(&[0xff, 0xf1, 0x50, 0x80]).as_deref(), Some("mp4a.40.2"));
        assert_eq!(mp4a(&[0x00, 0x00, 0x50]), None);
        assert_eq!(describe(&[]), Variant::default());
    }
}
