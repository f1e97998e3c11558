//! An H.264 track as fragmented MP4 (CMAF style: one track a file): the
//! initialisation segment (`ftyp` + `moov` with an `avc1` sample entry
//! and its `avcC`), then fragments (`moof` + `mdat`) of the access units
//! pushed since the last one.
//!
//! With B-pictures a picture is decoded before it is shown, so its PTS
//! lies after its DTS. As CMAF asks (ISO/IEC 23000-19 §7.5.16), decode
//! times are moved later by the first picture's PTS − DTS and the
//! composition offsets are signed (`trun` version 1), so that a
//! fragment's first picture is shown at its `tfdt`: the time a playlist
//! or an MPD gives the segment. Without that shift a player finds the
//! pictures starting a few frames after the segment's listed start and
//! must seek over the hole.

use super::boxes::{Put, write_box};
use super::track::{FragmentSample, TrackKind, fragment, init_segment};
use crate::h264::{NAL_AUD, NAL_IDR, NAL_PPS, NAL_SPS, SpsInfo, codec_string, nal_units, sps_info};
use crate::ts::Timeline;

/// The track's timescale: MPEG-TS's 90 kHz, so no timestamp is rounded.
pub const TIMESCALE: u32 = 90_000;

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
    /// A unit holding no NAL unit (or no AAC frame) at all.
    #[error("an access unit with nothing in it")]
    Empty,
    /// Bytes that are not ADTS AAC frames, each one raw data block.
    #[error("not ADTS AAC frames of one raw data block each")]
    NotAdts,
    /// An AAC frame whose object type, rate or channels differ from the
    /// track's first.
    #[error("the AAC configuration changed mid-track")]
    ConfigChanged,
    /// AAC that does not follow on from the frames waiting: cut a
    /// fragment first.
    #[error("a gap in the AAC timeline: cut a fragment before it")]
    Gap,
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
    /// The first access unit's PTS − DTS: how much later every decode time
    /// is written (see the module docs).
    delay: Option<u64>,
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
        // A PTS before its DTS is a broken stream; it gets no shift.
        self.delay.get_or_insert(pts.saturating_sub(dts));
        self.samples.push(Sample { data, dts, offset: pts as i64 - dts as i64, sync });
        Ok(())
    }

    /// The access units waiting for their fragment, if any: how many
    /// 90 kHz ticks they span up to `next_dts` (the DTS of the access unit
    /// that follows them, 33 bits), and whether the first is a sync
    /// sample.
    pub fn pending(&self, next_dts: u64) -> Option<(u64, bool)> {
        let first = self.samples.first()?;
        let mut dts = self.dts;
        Some((dts.extend(next_dts).saturating_sub(first.dts), first.sync))
    }

    /// The picture size, once an SPS was seen.
    pub fn size(&self) -> Option<(u32, u32)> {
        self.sps.as_ref().map(|(_, i)| (i.width, i.height))
    }

    /// `avc1.PPCCLL` for the track.
    pub fn codec(&self) -> Option<String> {
        self.sps.as_ref().and_then(|(sps, _)| codec_string(sps))
    }

    /// The initialisation segment, once the SPS and PPS are known.
    pub fn init_segment(&self) -> Option<Vec<u8>> {
        let ((sps, info), pps) = (self.sps.as_ref()?, self.pps.as_ref()?);
        let kind = TrackKind::Video { width: info.width, height: info.height };
        Some(init_segment(&kind, TIMESCALE, b"avc1", |o| avc1(o, info, sps, pps)))
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
        let delay = self.delay.unwrap_or(0);
        let described: Vec<FragmentSample> = samples
            .iter()
            .zip(&durations)
            .map(|(s, d)| FragmentSample {
                duration: *d,
                size: s.data.len() as u32,
                // sample_depends_on 2 (an I picture) and sync, or
                // depends_on 1 and non-sync.
                flags: if s.sync { 0x0200_0000 } else { 0x0101_0000 },
                offset: (s.offset - delay as i64) as i32,
            })
            .collect();
        Some(fragment(self.sequence, samples[0].dts + delay, &described, samples.iter().map(|s| s.data.as_slice())))
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
