//! An H.264 track as fragmented MP4 (CMAF style: one track a file): the
//! initialisation segment (`ftyp` + `moov` with an `avc1` sample entry
//! and its `avcC`), then fragments (`moof` + `mdat`) of the access units
//! pushed since the last one.

use super::boxes::{Put, full_box, matrix, write_box};
use crate::h264::{NAL_AUD, NAL_IDR, NAL_PPS, NAL_SPS, SpsInfo, nal_units, sps_info};
use crate::ts::Timeline;

/// The track's timescale: MPEG-TS's 90 kHz, so no timestamp is rounded.
pub const TIMESCALE: u32 = 90_000;
/// The track's ID in the init segment and every fragment.
const TRACK_ID: u32 = 1;

/// One access unit waiting for its fragment.
#[derive(Debug, Clone)]
struct Sample {
    /// Length-prefixed NAL units (4-byte lengths).
    data: Vec<u8>,
    dts: u64,
    /// PTS − DTS.
    offset: i64,
    sync: bool,
}

/// Why an access unit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fmp4Error {
    /// No SPS and PPS seen yet: there is nothing to describe the track.
    #[error("no SPS and PPS yet: the track cannot be described")]
    NoParameterSets,
    /// An SPS whose picture size cannot be read.
    #[error("an SPS whose picture size cannot be read")]
    BadSps,
    /// A unit holding no NAL unit at all.
    #[error("an access unit with no NAL unit")]
    Empty,
}

/// An H.264 track being written; see the module docs.
#[derive(Debug, Default)]
pub struct AvcTrack {
    sps: Option<(Vec<u8>, SpsInfo)>,
    pps: Option<Vec<u8>>,
    samples: Vec<Sample>,
    /// Timestamps extended past the 33-bit wrap.
    pts: Timeline,
    dts: Timeline,
    sequence: u32,
}

impl AvcTrack {
    /// A track with nothing in it yet.
    pub fn new() -> AvcTrack {
        AvcTrack::default()
    }

    /// Adds an access unit (Annex B, as a PES carries it) with its PTS and
    /// DTS (90 kHz, 33 bits; DTS = PTS when the PES has none). Access unit
    /// delimiters are left out; the first SPS and PPS go to the `avcC`
    /// and, as `avc1` asks, not into the samples.
    pub fn push(&mut self, annexb: &[u8], pts: u64, dts: u64) -> Result<(), Fmp4Error> {
        let units: Vec<&[u8]> = nal_units(annexb).collect();
        if units.is_empty() {
            return Err(Fmp4Error::Empty);
        }
        let mut data = Vec::with_capacity(annexb.len() + 4 * units.len());
        let mut sync = false;
        for unit in units {
            match unit[0] & 0x1f {
                NAL_SPS => {
                    if self.sps.is_none() {
                        let info = sps_info(unit).ok_or(Fmp4Error::BadSps)?;
                        self.sps = Some((unit.to_vec(), info));
                    }
                }
                NAL_PPS => {
                    if self.pps.is_none() {
                        self.pps = Some(unit.to_vec());
                    }
                }
                NAL_AUD => {}
                kind => {
                    sync |= kind == NAL_IDR;
                    data.u32(unit.len() as u32);
                    data.extend_from_slice(unit);
                }
            }
        }
        if self.sps.is_none() || self.pps.is_none() {
            return Err(Fmp4Error::NoParameterSets);
        }
        let dts = self.dts.extend(dts);
        let pts = self.pts.extend(pts);
        self.samples.push(Sample { data, dts, offset: pts as i64 - dts as i64, sync });
        Ok(())
    }

    /// The picture size, once an SPS was seen.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.sps.as_ref().map(|(_, i)| (i.width, i.height))
    }

    /// `avc1.PPCCLL` for the track.
    pub fn codec(&self) -> Option<String> {
        let (sps, _) = self.sps.as_ref()?;
        Some(format!("avc1.{:02x}{:02x}{:02x}", sps.get(1)?, sps.get(2)?, sps.get(3)?))
    }

    /// The initialisation segment, once the SPS and PPS are known.
    pub fn init_segment(&self) -> Option<Vec<u8>> {
        let ((sps, info), pps) = (self.sps.as_ref()?, self.pps.as_ref()?);
        let (width, height) = (info.width, info.height);
        let mut out = Vec::new();
        write_box(&mut out, b"ftyp", |o| {
            o.extend_from_slice(b"cmf2");
            o.u32(0);
            for brand in [b"cmf2", b"iso6", b"cmfc", b"avc1"] {
                o.extend_from_slice(brand);
            }
        });
        write_box(&mut out, b"moov", |o| {
            full_box(o, b"mvhd", 0, 0, |o| {
                o.zeros(8); // creation, modification
                o.u32(TIMESCALE);
                o.u32(0); // duration: fragmented
                o.u32(0x0001_0000); // rate
                o.u16(0x0100); // volume
                o.zeros(10);
                matrix(o);
                o.zeros(24); // pre_defined
                o.u32(TRACK_ID + 1); // next_track_ID
            });
            write_box(o, b"trak", |o| {
                full_box(o, b"tkhd", 0, 0x3, |o| {
                    o.zeros(8);
                    o.u32(TRACK_ID);
                    o.zeros(4);
                    o.u32(0); // duration
                    o.zeros(8);
                    o.u16(0); // layer
                    o.u16(0); // alternate_group
                    o.u16(0); // volume: video
                    o.zeros(2);
                    matrix(o);
                    o.u32(width << 16);
                    o.u32(height << 16);
                });
                write_box(o, b"mdia", |o| {
                    full_box(o, b"mdhd", 0, 0, |o| {
                        o.zeros(8);
                        o.u32(TIMESCALE);
                        o.u32(0);
                        o.u16(0x55c4); // language: und
                        o.u16(0);
                    });
                    full_box(o, b"hdlr", 0, 0, |o| {
                        o.zeros(4);
                        o.extend_from_slice(b"vide");
                        o.zeros(12);
                        o.extend_from_slice(b"Stagebox video\0");
                    });
                    write_box(o, b"minf", |o| {
                        full_box(o, b"vmhd", 0, 1, |o| o.zeros(8));
                        write_box(o, b"dinf", |o| {
                            full_box(o, b"dref", 0, 0, |o| {
                                o.u32(1);
                                full_box(o, b"url ", 0, 1, |_| {});
                            });
                        });
                        write_box(o, b"stbl", |o| {
                            full_box(o, b"stsd", 0, 0, |o| {
                                o.u32(1);
                                avc1(o, info, sps, pps);
                            });
                            for kind in [b"stts", b"stsc", b"stco"] {
                                full_box(o, kind, 0, 0, |o| o.u32(0));
                            }
                            full_box(o, b"stsz", 0, 0, |o| o.zeros(8));
                        });
                    });
                });
            });
            write_box(o, b"mvex", |o| {
                full_box(o, b"trex", 0, 0, |o| {
                    o.u32(TRACK_ID);
                    o.u32(1); // default_sample_description_index
                    o.zeros(12);
                });
            });
        });
        Some(out)
    }

    /// A fragment of the access units pushed since the last one, or `None`
    /// when there are none. `next_dts` is the DTS of the access unit that
    /// follows (the next fragment's first), which gives the last sample its
    /// duration; without it the last lasts as long as the one before.
    pub fn fragment(&mut self, next_dts: Option<u64>) -> Option<Vec<u8>> {
        if self.samples.is_empty() {
            return None;
        }
        let samples = std::mem::take(&mut self.samples);
        let next = next_dts.map(|d| {
            // Placed on the same extended timeline as the samples.
            let mut t = self.dts;
            t.extend(d)
        });
        let mut durations: Vec<u32> = samples.windows(2).map(|w| (w[1].dts.saturating_sub(w[0].dts)) as u32).collect();
        let last = match (next, samples.last()) {
            (Some(n), Some(s)) => n.saturating_sub(s.dts) as u32,
            _ => durations.last().copied().unwrap_or(TIMESCALE / 25),
        };
        durations.push(last);
        self.sequence += 1;
        let sequence = self.sequence;
        let mut out = Vec::new();
        let mut data_offset_at = 0;
        write_box(&mut out, b"moof", |o| {
            full_box(o, b"mfhd", 0, 0, |o| o.u32(sequence));
            write_box(o, b"traf", |o| {
                // default-base-is-moof.
                full_box(o, b"tfhd", 0, 0x02_0000, |o| o.u32(TRACK_ID));
                full_box(o, b"tfdt", 1, 0, |o| o.u64(samples[0].dts));
                // data offset, and per sample: duration, size, flags,
                // composition offset (signed: version 1).
                full_box(o, b"trun", 1, 0x0001 | 0x0100 | 0x0200 | 0x0400 | 0x0800, |o| {
                    o.u32(samples.len() as u32);
                    data_offset_at = o.len();
                    o.u32(0);
                    for (s, d) in samples.iter().zip(&durations) {
                        o.u32(*d);
                        o.u32(s.data.len() as u32);
                        // sample_depends_on 2 (an I picture) and sync, or
                        // depends_on 1 and non-sync.
                        o.u32(if s.sync { 0x0200_0000 } else { 0x0101_0000 });
                        o.u32(s.offset as i32 as u32);
                    }
                });
            });
        });
        // The samples start after the mdat's header.
        let offset = (out.len() + 8) as u32;
        out[data_offset_at..data_offset_at + 4].copy_from_slice(&offset.to_be_bytes());
        write_box(&mut out, b"mdat", |o| {
            for s in &samples {
                o.extend_from_slice(&s.data);
            }
        });
        Some(out)
    }
}

/// The `avc1` sample entry with its `avcC` (ISO/IEC 14496-15 §5.3.3).
fn avc1(o: &mut Vec<u8>, info: &SpsInfo, sps: &[u8], pps: &[u8]) {
    write_box(o, b"avc1", |o| {
        o.zeros(6);
        o.u16(1); // data_reference_index
        o.zeros(16);
        o.u16(info.width as u16);
        o.u16(info.height as u16);
        o.u32(0x0048_0000); // 72 dpi
        o.u32(0x0048_0000);
        o.u32(0);
        o.u16(1); // frame_count
        o.zeros(32); // compressorname
        o.u16(0x0018); // depth
        o.u16(0xffff); // pre_defined = -1
        write_box(o, b"avcC", |o| {
            o.push(1);
            o.extend_from_slice(&sps[1..4]); // profile, compatibility, level
            o.push(0xff); // 4-byte NAL lengths
            o.push(0xe1); // one SPS
            o.u16(sps.len() as u16);
            o.extend_from_slice(sps);
            o.push(1); // one PPS
            o.u16(pps.len() as u16);
            o.extend_from_slice(pps);
            if matches!(sps[1], 100 | 110 | 122 | 144) {
                // The High profiles repeat the SPS's chroma format and bit
                // depths; no SPS extensions.
                o.push(0xfc | (info.chroma_format & 3) as u8);
                o.push(0xf8 | (info.luma_depth_minus8 & 7) as u8);
                o.push(0xf8 | (info.chroma_depth_minus8 & 7) as u8);
                o.push(0);
            }
        });
    });
}
