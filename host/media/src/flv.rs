//! FLV tag bodies for RTMP (Adobe FLV 10.1 §E.4.2–E.4.3) from what a
//! transport stream carries: H.264 access units in Annex B become
//! AVCC-framed `AVCVIDEOPACKET`s, with the `AVCDecoderConfigurationRecord`
//! made from the stream's SPS and PPS; AAC in ADTS frames becomes raw
//! `AACAUDIODATA`, with the `AudioSpecificConfig` made from the ADTS
//! header. Pure: the RTMP connection is `host/io`'s.

use crate::h264::nal_units;

/// One message for the RTMP connection: a video or audio tag body and its
/// time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Video (RTMP message type 9) or audio (8).
    pub kind: TagKind,
    /// Decoding time, ms.
    pub timestamp_ms: u32,
    /// The tag body.
    pub body: Vec<u8>,
}

/// What a [`Tag`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// H.264, sequence header or NAL units.
    Video,
    /// AAC, sequence header or a raw frame.
    Audio,
}

/// Why elementary stream data cannot become FLV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    /// Bytes that are not an ADTS frame where one should start.
    #[error("no ADTS frame header at byte {0}")]
    Adts(usize),
    /// An SPS too short to hold profile and level.
    #[error("SPS of {0} bytes is too short")]
    Sps(usize),
}

/// Milliseconds of a 90 kHz time relative to `origin`, wrapping at 2^32.
fn ms(ticks: u64, origin: u64) -> u32 {
    (ticks.wrapping_sub(origin) / 90) as u32
}

/// Turns H.264 and AAC PES payloads into FLV tags: the sequence headers
/// first (and again whenever the SPS, PPS or audio configuration change),
/// then the frames. Times are made relative to the first PES's.
#[derive(Debug, Default)]
pub struct FlvMuxer {
    origin: Option<u64>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    video_config_sent: bool,
    audio_config: Option<[u8; 2]>,
}

impl FlvMuxer {
    /// A muxer that has seen nothing.
    pub fn new() -> FlvMuxer {
        FlvMuxer::default()
    }

    fn origin(&mut self, dts: u64) -> u64 {
        *self.origin.get_or_insert(dts)
    }

    /// An H.264 access unit (Annex B) with its PTS and DTS (90 kHz). Until
    /// the first SPS and PPS are seen, nothing can be sent (an empty list).
    pub fn video(&mut self, access_unit: &[u8], pts: u64, dts: u64) -> Result<Vec<Tag>, FlvError> {
        let origin = self.origin(dts);
        let mut out = Vec::new();
        let mut body = Vec::with_capacity(access_unit.len() + 16);
        let mut keyframe = false;
        for nal in nal_units(access_unit) {
            let kind = nal.first().map_or(0, |b| b & 0x1f);
            match kind {
                7 if self.sps.as_deref() != Some(nal) => {
                    self.sps = Some(nal.to_vec());
                    self.video_config_sent = false;
                }
                8 if self.pps.as_deref() != Some(nal) => {
                    self.pps = Some(nal.to_vec());
                    self.video_config_sent = false;
                }
                5 => keyframe = true,
                _ => {}
            }
            // Access unit delimiters have no place in FLV.
            if kind != 9 {
                body.extend((nal.len() as u32).to_be_bytes());
                body.extend_from_slice(nal);
            }
        }
        let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else { return Ok(out) };
        let timestamp_ms = ms(dts, origin);
        if !self.video_config_sent {
            if sps.len() < 4 {
                return Err(FlvError::Sps(sps.len()));
            }
            let mut record = vec![0x17, 0, 0, 0, 0];
            // AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1).
            record.extend([1, sps[1], sps[2], sps[3], 0xff, 0xe1]);
            record.extend((sps.len() as u16).to_be_bytes());
            record.extend_from_slice(sps);
            record.push(1);
            record.extend((pps.len() as u16).to_be_bytes());
            record.extend_from_slice(pps);
            out.push(Tag { kind: TagKind::Video, timestamp_ms, body: record });
            self.video_config_sent = true;
        }
        if body.is_empty() {
            return Ok(out);
        }
        // Composition time: PTS − DTS in ms, signed 24 bits.
        let cts = ((pts.wrapping_sub(dts) as i64) / 90).clamp(-(1 << 23), (1 << 23) - 1) as i32;
        let mut tag = vec![if keyframe { 0x17 } else { 0x27 }, 1];
        tag.extend(&cts.to_be_bytes()[1..]);
        tag.extend(body);
        out.push(Tag { kind: TagKind::Video, timestamp_ms, body: tag });
        Ok(out)
    }

    /// A PES payload of ADTS frames with the PES's PTS (90 kHz): one tag
    /// per frame, preceded by the AudioSpecificConfig when it is new.
    pub fn audio(&mut self, adts: &[u8], pts: u64) -> Result<Vec<Tag>, FlvError> {
        let origin = self.origin(pts);
        let mut out = Vec::new();
        let mut at = 0;
        let mut frame = 0u64;
        while at + 7 <= adts.len() {
            let h = &adts[at..];
            if h[0] != 0xff || h[1] & 0xf6 != 0xf0 {
                return Err(FlvError::Adts(at));
            }
            let protection_absent = h[1] & 1 == 1;
            let profile = h[2] >> 6;
            let frequency = (h[2] >> 2) & 0x0f;
            let channels = (h[2] & 1) << 2 | h[3] >> 6;
            let length = usize::from(h[3] & 3) << 11 | usize::from(h[4]) << 3 | usize::from(h[5] >> 5);
            let header = if protection_absent { 7 } else { 9 };
            if length < header || at + length > adts.len() {
                return Err(FlvError::Adts(at));
            }
            let rate = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
                .get(usize::from(frequency))
                .copied()
                .unwrap_or(48000);
            // AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1): object type
            // (ADTS profile + 1), frequency index, channel configuration.
            let config = [(profile + 1) << 3 | frequency >> 1, (frequency & 1) << 7 | channels << 3];
            let timestamp_ms = ms(pts + frame * 1024 * 90_000 / rate, origin);
            if self.audio_config != Some(config) {
                out.push(Tag { kind: TagKind::Audio, timestamp_ms, body: vec![0xaf, 0, config[0], config[1]] });
                self.audio_config = Some(config);
            }
            let mut body = vec![0xaf, 1];
            body.extend_from_slice(&adts[at + header..at + length]);
            out.push(Tag { kind: TagKind::Audio, timestamp_ms, body });
            at += length;
            frame += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_becomes_a_sequence_header_then_avcc_nal_units() {
        let sps = [0x67, 0x64, 0x00, 0x1f, 0xac];
        let pps = [0x68, 0xee, 0x3c, 0x80];
        let idr = [0x65, 0x88, 0x84];
        let mut au = Vec::new();
        for nal in [&[0x09, 0xf0][..], &sps, &pps, &idr] {
            au.extend([0, 0, 0, 1]);
            au.extend_from_slice(nal);
        }
        let mut m = FlvMuxer::new();
        let tags = m.video(&au, 9000 + 3600, 9000).unwrap_or_default();
        assert_eq!(tags.len(), 2);
        let config = &tags[0].body;
        assert_eq!(&config[..11], &[0x17, 0, 0, 0, 0, 1, 0x64, 0x00, 0x1f, 0xff, 0xe1]);
        let frame = &tags[1].body;
        // Keyframe, NALU, composition time 40 ms.
        assert_eq!(&frame[..5], &[0x17, 1, 0, 0, 40]);
        // The AUD is gone; SPS, PPS and IDR are length-prefixed.
        assert_eq!(&frame[5..9], &5u32.to_be_bytes());
        assert_eq!(frame.len(), 5 + (4 + 5) + (4 + 4) + (4 + 3));
        // A later frame: no second sequence header, time from the first.
        let tags = m.video(&[0, 0, 0, 1, 0x41, 0x9a], 12600, 12600).unwrap_or_default();
        assert_eq!((tags.len(), tags[0].timestamp_ms, tags[0].body[0]), (1, 40, 0x27));
    }

    #[test]
    fn adts_becomes_a_config_then_raw_frames() {
        // AAC LC, 48 kHz (index 3), stereo: two frames of 10 bytes.
        let frame = |payload: u8| {
            let len = 7 + 3u16;
            vec![
                0xff,
                0xf1,
                0x4c,
                0x80 | (len >> 11) as u8,
                (len >> 3) as u8,
                ((len & 7) << 5) as u8 | 0x1f,
                0xfc,
                payload,
                payload,
                payload,
            ]
        };
        let pes = [frame(1), frame(2)].concat();
        let mut m = FlvMuxer::new();
        let tags = m.audio(&pes, 90_000).unwrap_or_default();
        assert_eq!(tags.len(), 3);
        // AudioSpecificConfig: object type 2, index 3, 2 channels.
        assert_eq!(tags[0].body, [0xaf, 0, 0x11, 0x90]);
        assert_eq!(tags[1].body, [0xaf, 1, 1, 1, 1]);
        // The second frame is 1024 samples (21 ms) later.
        assert_eq!((tags[1].timestamp_ms, tags[2].timestamp_ms), (0, 21));
        assert_eq!(m.audio(&[0x00; 9], 0), Err(FlvError::Adts(0)));
    }
}
