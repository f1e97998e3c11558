//! The ladder's audio: the channel's ADTS AAC decoded and encoded again as
//! AAC LC at the ladder's bitrate (FFmpeg's native encoder), once for
//! every rendition, back as ADTS frames stamped on the 90 kHz clock.

use crate::CodecError;
use ff::{Rational, codec, frame};
use ffmpeg_next as ff;
use stagebox_media::fmp4::{AdtsConfig, adts_header};

/// One AAC frame out: its PTS (90 kHz, extended) and its ADTS bytes.
pub type AudioFrame = (u64, Vec<u8>);

/// Decodes and re-encodes one audio stream.
pub struct AudioEncoding {
    bitrate: u64,
    decoder: ff::decoder::Audio,
    /// Opened on the first decoded frame (its rate and layout).
    encoder: Option<(ff::encoder::Audio, AdtsConfig)>,
    /// Where the next encoded sample falls, in samples since the first
    /// frame, and that frame's PTS (90 kHz).
    origin: Option<(u64, u32)>,
}

impl AudioEncoding {
    /// An AAC LC encoding at `bitrate` bits per second.
    pub fn new(bitrate: u64) -> Result<AudioEncoding, CodecError> {
        let aac = ff::decoder::find(codec::Id::AAC).ok_or(CodecError::Missing("an AAC decoder"))?;
        let decoder = codec::context::Context::new_with_codec(aac)
            .decoder()
            .audio()
            .map_err(|e| CodecError::Ffmpeg("opening the AAC decoder", e))?;
        Ok(AudioEncoding { bitrate, decoder, encoder: None, origin: None })
    }

    /// One PES of ADTS frames with its PTS (90 kHz, extended); returns the
    /// AAC frames encoded since.
    pub fn push(&mut self, pes: &[u8], pts: u64) -> Result<Vec<AudioFrame>, CodecError> {
        let mut rest = pes;
        let mut at = pts;
        let mut out = Vec::new();
        while let Some(config) = adts_header(rest) {
            let length = usize::from(rest[3] & 3) << 11 | usize::from(rest[4]) << 3 | usize::from(rest[5] >> 5);
            if length < 7 || length > rest.len() {
                break;
            }
            let mut packet = ff::Packet::copy(&rest[..length]);
            packet.set_pts(Some(at as i64));
            // A damaged frame is the decoder's to conceal.
            if let Err(e) = self.decoder.send_packet(&packet) {
                tracing::debug!("the AAC decoder refused a frame: {e}");
            }
            // A frame at a time: the decoder holds one decoded frame and
            // refuses more until it is taken.
            out.extend(self.receive()?);
            at += 1024 * 90_000 / u64::from(config.rate());
            rest = &rest[length..];
        }
        Ok(out)
    }

    /// The stream ended: what the encoder holds.
    pub fn finish(&mut self) -> Result<Vec<AudioFrame>, CodecError> {
        let _ = self.decoder.send_eof();
        let mut out = self.receive()?;
        if let Some((encoder, config)) = &mut self.encoder {
            let _ = encoder.send_eof();
            drain(encoder, *config, self.origin, &mut out);
        }
        Ok(out)
    }

    fn receive(&mut self) -> Result<Vec<AudioFrame>, CodecError> {
        let mut out = Vec::new();
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let rate = decoded.rate();
            if self.encoder.is_none() {
                self.encoder = Some(self.open(&decoded)?);
            }
            let (origin_pts, _) = *self.origin.get_or_insert((decoded.pts().unwrap_or(0).max(0) as u64, rate));
            // The encoder counts in samples from the first frame; the PTS
            // says where each frame goes.
            let pts = decoded.pts().unwrap_or(0).max(0) as u64;
            let samples = (pts.saturating_sub(origin_pts)) * u64::from(rate) / 90_000;
            decoded.set_pts(Some(samples as i64));
            let Some((encoder, config)) = &mut self.encoder else { continue };
            encoder.send_frame(&decoded).map_err(|e| CodecError::Ffmpeg("encoding AAC", e))?;
            drain(encoder, *config, self.origin, &mut out);
        }
        Ok(out)
    }

    /// The AAC encoder for frames like `first`.
    fn open(&self, first: &frame::Audio) -> Result<(ff::encoder::Audio, AdtsConfig), CodecError> {
        let config = AdtsConfig::lc(first.rate(), first.channels().min(7) as u8)
            .ok_or_else(|| CodecError::Config(format!("AAC cannot carry {} Hz", first.rate())))?;
        let aac = ff::encoder::find(codec::Id::AAC).ok_or(CodecError::Missing("an AAC encoder"))?;
        let mut audio = codec::context::Context::new_with_codec(aac)
            .encoder()
            .audio()
            .map_err(|e| CodecError::Ffmpeg("making the AAC encoder", e))?;
        audio.set_rate(first.rate() as i32);
        let layout = match first.channel_layout() {
            l if l.is_empty() => ff::ChannelLayout::default(i32::from(first.channels())),
            l => l,
        };
        audio.set_channel_layout(layout);
        audio.set_format(first.format());
        audio.set_time_base(Rational::new(1, first.rate() as i32));
        audio.set_bit_rate(self.bitrate as usize);
        let encoder = audio.open().map_err(|e| CodecError::Ffmpeg("opening the AAC encoder", e))?;
        Ok((encoder, config))
    }
}

/// The encoder's frames as ADTS, stamped on the 90 kHz clock.
fn drain(encoder: &mut ff::encoder::Audio, config: AdtsConfig, origin: Option<(u64, u32)>, out: &mut Vec<AudioFrame>) {
    let (origin_pts, rate) = origin.unwrap_or((0, 48_000));
    let mut packet = ff::Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        let (Some(samples), Some(raw)) = (packet.pts(), packet.data()) else { continue };
        let pts = origin_pts as i64 + samples * 90_000 / i64::from(rate.max(1));
        out.push((pts.max(0) as u64, config.frame(raw)));
    }
}
