//! What a master playlist says of a variant before a player loads it,
//! read from a segment: `CODECS` (RFC 6381, as RFC 8216 §4.4.6.2 asks) and
//! `RESOLUTION`.

use crate::fmp4::adts_header;
use crate::h264::{NAL_SPS, codec_string, nal_units, sps_info};
use crate::ts::{Demuxer, Event, PACKET_SIZE, STREAM_TYPE_AAC, STREAM_TYPE_H264};
use std::collections::BTreeMap;

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

/// What `segment` (a transport stream segment) shows of its variant. The
/// segment is read only until the first access unit of each stream is
/// whole: a segment opens with its PSI and a keyframe, so that is a small
/// part of it.
pub fn describe(segment: &[u8]) -> Variant {
    /// Packets fed at a time between looks at what was found.
    const CHUNK: usize = 64 * PACKET_SIZE;
    let mut demux = Demuxer::new();
    let mut kinds: BTreeMap<u16, u8> = BTreeMap::new();
    let mut found: BTreeMap<u16, String> = BTreeMap::new();
    let mut resolution = None;
    let chunks = segment.chunks(CHUNK).map(Some).chain([None]);
    for chunk in chunks {
        let events = match chunk {
            Some(bytes) => demux.push(bytes),
            None => demux.finish(),
        };
        for event in events {
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
                            resolution = resolution.or(sps.and_then(sps_info).map(|i| (i.width, i.height)));
                            sps.and_then(codec_string)
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
        if playable(&kinds) > 0 && found.len() == playable(&kinds) {
            break;
        }
    }
    // Every playable stream must be named.
    let codecs = (playable(&kinds) > 0 && found.len() == playable(&kinds)).then(|| {
        let mut list: Vec<String> = found.into_values().collect();
        list.sort_by_key(|c| !c.starts_with("avc1"));
        list.join(",")
    });
    Variant { codecs, resolution }
}

/// The streams a player plays: every one but private sections, DSM-CC,
/// metadata and SCTE-35 (0x06, PES private data, may be AC-3 or
/// subtitles: unknown, so it counts, and there is then no CODECS).
fn playable(kinds: &BTreeMap<u16, u8>) -> usize {
    kinds.values().filter(|t| !matches!(**t, 0x05 | 0x0d | 0x15 | 0x86)).count()
}

/// From the first ADTS header: the audio object type.
fn mp4a(es: &[u8]) -> Option<String> {
    adts_header(es).map(|c| format!("mp4a.40.{}", c.object_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sps_and_adts_headers_name_their_codecs() {
        // An SPS of High profile (100), no constraints, level 3.1.
        assert_eq!(codec_string(&[0x67, 0x64, 0x00, 0x1f, 0xac]).as_deref(), Some("avc1.64001f"));
        assert_eq!(codec_string(&[0x67, 0x64]), None, "cut short");
        // ADTS, AAC LC (profile 1).
        assert_eq!(mp4a(&[0xff, 0xf1, 0x50, 0x80, 0x01, 0x5f, 0xfc]).as_deref(), Some("mp4a.40.2"));
        assert_eq!(mp4a(&[0x00, 0x00, 0x50]), None);
        assert_eq!(describe(&[]), Variant::default());
    }
}
