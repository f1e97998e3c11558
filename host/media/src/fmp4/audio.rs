//! An AAC track as fragmented MP4: ADTS frames (as MPEG-TS carries AAC)
//! become raw access units, one sample of 1024 PCM samples each, under an
//! `mp4a` sample entry whose `esds` holds the AudioSpecificConfig the ADTS
//! headers describe (ISO/IEC 14496-3 §1.6.2.1, §1.A.2; 14496-14 §5.6).

use super::Fmp4Error;
use super::boxes::{Put, full_box, write_box};
use super::track::{FragmentSample, TrackKind, fragment, init_segment};
use crate::ts::Timeline;

/// The ADTS sampling_frequency_index table.
const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/// PCM samples an AAC frame codes.
const FRAME: u32 = 1024;

/// What an ADTS header says of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsConfig {
    /// The audio object type (2: AAC LC).
    pub object_type: u8,
    /// The sampling_frequency_index.
    pub rate_index: u8,
    /// The channel_configuration.
    pub channels: u8,
}

impl AdtsConfig {
    /// The sample rate in Hz.
    pub fn rate(self) -> u32 {
        RATES[usize::from(self.rate_index)]
    }

    /// The two-byte AudioSpecificConfig.
    fn audio_specific_config(self) -> [u8; 2] {
        let v = u16::from(self.object_type) << 11 | u16::from(self.rate_index) << 7 | u16::from(self.channels) << 3;
        v.to_be_bytes()
    }
}

impl AdtsConfig {
    /// AAC LC at `rate` Hz with `channels` (channel_configuration 1–7), if
    /// ADTS can say that rate.
    pub fn lc(rate: u32, channels: u8) -> Option<AdtsConfig> {
        let rate_index = RATES.iter().position(|r| *r == rate)? as u8;
        (1..=7).contains(&channels).then_some(AdtsConfig { object_type: 2, rate_index, channels })
    }

    /// `raw` (one raw AAC frame) as an ADTS frame: the seven-byte header
    /// without CRC, then the frame.
    pub fn frame(self, raw: &[u8]) -> Vec<u8> {
        let length = raw.len() + 7;
        let mut out = Vec::with_capacity(length);
        out.extend_from_slice(&[
            0xff,
            0xf1,
            (self.object_type - 1) << 6 | self.rate_index << 2 | self.channels >> 2,
            (self.channels & 3) << 6 | (length >> 11) as u8 & 3,
            (length >> 3) as u8,
            ((length & 7) as u8) << 5 | 0x1f,
            0xfc,
        ]);
        out.extend_from_slice(raw);
        out
    }
}

/// What the ADTS header at the start of `b` says, if there is one.
pub fn adts_header(b: &[u8]) -> Option<AdtsConfig> {
    if b.len() < 7 || b[0] != 0xff || b[1] & 0xf6 != 0xf0 {
        return None;
    }
    let config = AdtsConfig {
        object_type: (b[2] >> 6) + 1,
        rate_index: (b[2] >> 2) & 0x0f,
        channels: (b[2] & 1) << 2 | b[3] >> 6,
    };
    (usize::from(config.rate_index) < RATES.len()).then_some(config)
}

/// One ADTS frame: its header's config and its raw payload's span.
fn adts(b: &[u8]) -> Option<(AdtsConfig, usize, usize)> {
    let config = adts_header(b)?;
    let protection_absent = b[1] & 1 == 1;
    let length = usize::from(b[3] & 3) << 11 | usize::from(b[4]) << 3 | usize::from(b[5] >> 5);
    let header = if protection_absent { 7 } else { 9 };
    // One raw data block a frame: the common case, and the only one an
    // fMP4 sample can hold without splitting.
    if length <= header || length > b.len() || b[6] & 3 != 0 {
        return None;
    }
    Some((config, header, length))
}

/// The whole ADTS frames `b` starts with, each with its header.
pub fn adts_split(mut b: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    while let Some((_, _, length)) = adts(b) {
        frames.push(&b[..length]);
        b = &b[length..];
    }
    frames
}

/// How many whole ADTS frames `b` starts with.
pub fn adts_frames(b: &[u8]) -> usize {
    adts_split(b).len()
}

/// An ADTS AAC track being written.
#[derive(Debug, Default)]
pub struct AacTrack {
    config: Option<AdtsConfig>,
    /// Raw frames waiting for their fragment, and the decode time of the
    /// first (in the track's timescale, the sample rate).
    frames: Vec<Vec<u8>>,
    first: Option<u64>,
    /// Where the next frame falls, in the track's timescale.
    next: Option<u64>,
    pts: Timeline,
    sequence: u32,
}

impl AacTrack {
    /// A track with nothing in it yet.
    pub fn new() -> AacTrack {
        AacTrack::default()
    }

    /// Adds the ADTS frames of one PES with its PTS (90 kHz, 33 bits).
    /// Each frame lasts 1024 samples; the PES's PTS places its first frame
    /// (so a gap in the stream shows as one), and frames are kept back to
    /// back within a PES. Frames whose config differs from the first are
    /// refused, as are bytes that are not ADTS.
    pub fn push(&mut self, pes: &[u8], pts: u64) -> Result<(), Fmp4Error> {
        let mut rest = pes;
        let mut frames = Vec::new();
        while !rest.is_empty() {
            let (config, header, length) = adts(rest).ok_or(Fmp4Error::NotAdts)?;
            if *self.config.get_or_insert(config) != config {
                return Err(Fmp4Error::ConfigChanged);
            }
            frames.push(rest[header..length].to_vec());
            rest = &rest[length..];
        }
        if frames.is_empty() {
            return Err(Fmp4Error::Empty);
        }
        let rate = u64::from(self.config.map_or(48_000, AdtsConfig::rate));
        let at = self.pts.extend(pts) * rate / 90_000;
        // A PES that starts within half a frame of where the last ended
        // continues it: rounding must not open gaps.
        let at = match self.next {
            Some(next) if next.abs_diff(at) < u64::from(FRAME / 2) => next,
            _ => at,
        };
        if self.frames.is_empty() {
            self.first = Some(at);
        } else if self.next != Some(at) {
            // A gap: the waiting frames cannot carry it (no per-frame
            // times in a run of equal durations). The caller cuts
            // fragments at keyframes, so this only happens on damage.
            return Err(Fmp4Error::Gap);
        }
        self.next = Some(at + u64::from(FRAME) * frames.len() as u64);
        self.frames.extend(frames);
        Ok(())
    }

    /// Where the frames waiting for their fragment start and end, in the
    /// track's timescale (the sample rate); `None` when none wait.
    pub fn span(&self) -> Option<(u64, u64)> {
        if self.frames.is_empty() {
            return None;
        }
        Some((self.first?, self.next?))
    }

    /// The channel_configuration, once a frame was seen.
    pub fn channels(&self) -> Option<u8> {
        self.config.map(|c| c.channels)
    }

    /// The sample rate, once a frame was seen.
    pub fn rate(&self) -> Option<u32> {
        self.config.map(AdtsConfig::rate)
    }

    /// `mp4a.40.N` for the track.
    pub fn codec(&self) -> Option<String> {
        self.config.map(|c| format!("mp4a.40.{}", c.object_type))
    }

    /// The initialisation segment, once a frame was seen.
    pub fn init_segment(&self) -> Option<Vec<u8>> {
        let config = self.config?;
        Some(init_segment(&TrackKind::Audio, config.rate(), b"mp4a", |o| mp4a(o, config)))
    }

    /// A fragment of the frames pushed since the last one, or `None`.
    pub fn fragment(&mut self) -> Option<Vec<u8>> {
        if self.frames.is_empty() {
            return None;
        }
        let frames = std::mem::take(&mut self.frames);
        self.sequence += 1;
        let samples: Vec<FragmentSample> = frames
            .iter()
            // Every audio frame is a sync sample.
            .map(|f| FragmentSample { duration: FRAME, size: f.len() as u32, flags: 0x0200_0000, offset: 0 })
            .collect();
        Some(fragment(self.sequence, self.first.unwrap_or(0), &samples, frames.iter().map(Vec::as_slice)))
    }
}

/// An MPEG-4 descriptor: tag, a four-byte size (the expandable form), body.
fn descriptor(o: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    o.push(tag);
    let n = inner.len() as u32;
    o.extend_from_slice(&[0x80 | (n >> 21) as u8 & 0x7f, 0x80 | (n >> 14) as u8 & 0x7f, 0x80 | (n >> 7) as u8 & 0x7f]);
    o.push(n as u8 & 0x7f);
    o.extend_from_slice(&inner);
}

/// The `mp4a` sample entry with its `esds`.
fn mp4a(o: &mut Vec<u8>, config: AdtsConfig) {
    write_box(o, b"mp4a", |o| {
        o.zeros(6);
        o.u16(1); // data_reference_index
        o.zeros(8);
        o.u16(u16::from(config.channels.max(1)));
        o.u16(16); // sample size
        o.zeros(4);
        o.u32(config.rate().min(65535) << 16);
        full_box(o, b"esds", 0, 0, |o| {
            descriptor(o, 0x03, |o| {
                o.u16(1); // ES_ID
                o.push(0); // no dependence, URL or OCR
                descriptor(o, 0x04, |o| {
                    o.push(0x40); // Audio ISO/IEC 14496-3
                    o.push(0x15); // AudioStream, upstream 0, reserved 1
                    o.extend_from_slice(&[0, 0, 0]); // bufferSizeDB
                    o.u32(0); // maxBitrate
                    o.u32(0); // avgBitrate
                    descriptor(o, 0x05, |o| o.extend_from_slice(&config.audio_specific_config()));
                });
                descriptor(o, 0x06, |o| o.push(2)); // SLConfig: predefined MP4
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adts_frames_written_read_back() {
        let config = AdtsConfig::lc(48_000, 2).unwrap_or_else(|| panic!("48 kHz"));
        let frame = config.frame(&[7; 300]);
        assert_eq!(adts(&frame), Some((config, 7, 307)));
        assert_eq!(AdtsConfig::lc(47_000, 2), None);
        assert_eq!(AdtsConfig::lc(48_000, 0), None);
    }

    #[test]
    fn adts_headers_give_the_audio_specific_config() {
        // AAC LC, 48 kHz (index 3), stereo, a 10-byte frame.
        let frame = [0xff, 0xf1, 0x4c, 0x80, 0x01, 0x5f, 0xfc, 0xaa, 0xbb, 0xcc];
        let (config, header, length) = adts(&frame).unwrap_or_else(|| panic!("not read"));
        assert_eq!((config.object_type, config.rate(), config.channels, header, length), (2, 48000, 2, 7, 10));
        assert_eq!(config.audio_specific_config(), [0x11, 0x90]);
        assert_eq!(adts(&frame[..6]), None);
        assert_eq!(adts(&[0u8; 10]), None);
    }
}
