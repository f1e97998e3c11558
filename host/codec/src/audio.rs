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
        let layout = match first.channel_layout() {
            l if l.is_empty() => ff::ChannelLayout::default(i32::from(first.channels())),
            l => l,
        };
        aac_encoder(first.rate(), layout, first.format(), self.bitrate)
    }
}

/// An AAC LC encoder of `layout` at `rate` Hz taking samples of `format`,
/// at `bitrate` bits per second, counting time in samples; and the ADTS
/// header of its frames.
fn aac_encoder(
    rate: u32,
    layout: ff::ChannelLayout,
    format: ff::format::Sample,
    bitrate: u64,
) -> Result<(ff::encoder::Audio, AdtsConfig), CodecError> {
    let config = AdtsConfig::lc(rate, layout.channels().clamp(1, 7) as u8)
        .ok_or_else(|| CodecError::Config(format!("AAC cannot carry {rate} Hz")))?;
    let aac = ff::encoder::find(codec::Id::AAC).ok_or(CodecError::Missing("an AAC encoder"))?;
    let mut audio = codec::context::Context::new_with_codec(aac)
        .encoder()
        .audio()
        .map_err(|e| CodecError::Ffmpeg("making the AAC encoder", e))?;
    audio.set_rate(rate as i32);
    audio.set_channel_layout(layout);
    audio.set_format(format);
    audio.set_time_base(Rational::new(1, rate as i32));
    audio.set_bit_rate(bitrate as usize);
    let encoder = audio.open().map_err(|e| CodecError::Ffmpeg("opening the AAC encoder", e))?;
    Ok((encoder, config))
}

/// AAC from PCM: planar 32-bit float samples (a continuous flow's
/// channels), each sample numbered on the flow's clock.
pub struct PcmEncoding {
    encoder: ff::encoder::Audio,
    config: AdtsConfig,
    rate: u32,
    channels: usize,
    /// Samples waiting for a whole AAC frame, per channel, and the index of
    /// the first.
    waiting: Vec<Vec<f32>>,
    first: Option<u64>,
    /// Samples in one AAC frame.
    frame_size: usize,
    /// The first sample's index: the encoder counts from it (an index from
    /// the TAI epoch times 90 000 would overflow its 64-bit clock).
    base: Option<u64>,
}

impl PcmEncoding {
    /// AAC LC of `channels` channels at `rate` Hz and `bitrate` bits per
    /// second.
    pub fn new(rate: u32, channels: u32, bitrate: u64) -> Result<PcmEncoding, CodecError> {
        if !(1..=2).contains(&channels) {
            return Err(CodecError::Config(format!("{channels} audio channels: 1 or 2 are encoded")));
        }
        let layout = ff::ChannelLayout::default(channels as i32);
        let format = ff::format::Sample::F32(ff::format::sample::Type::Planar);
        let (encoder, config) = aac_encoder(rate, layout, format, bitrate)?;
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(PcmEncoding {
            encoder,
            config,
            rate,
            channels: channels as usize,
            waiting: vec![Vec::new(); channels as usize],
            first: None,
            frame_size,
            base: None,
        })
    }

    /// Samples from `index` on (one slice per channel, all as long);
    /// returns the AAC frames made, stamped at 90 kHz (extended: the
    /// sample clock's time, not wrapped). A gap before `index` is filled
    /// with silence; samples before those already taken are refused.
    pub fn push(&mut self, index: u64, channels: &[&[f32]]) -> Result<Vec<AudioFrame>, CodecError> {
        if channels.len() != self.channels || channels.iter().any(|c| c.len() != channels[0].len()) {
            return Err(CodecError::Config(format!(
                "{} channels of samples; the encoding has {}",
                channels.len(),
                self.channels
            )));
        }
        self.base.get_or_insert(index);
        let first = *self.first.get_or_insert(index);
        let next = first + self.waiting[0].len() as u64;
        if index < next {
            return Err(CodecError::Config(format!("audio sample {index} again (next is {next})")));
        }
        let gap = (index - next) as usize;
        for (waiting, samples) in self.waiting.iter_mut().zip(channels) {
            waiting.resize(waiting.len() + gap, 0.0);
            waiting.extend_from_slice(samples);
        }
        let mut out = Vec::new();
        while self.waiting[0].len() >= self.frame_size {
            self.encode(self.frame_size, &mut out)?;
        }
        Ok(out)
    }

    /// The stream ended: the samples waiting and what the encoder holds.
    pub fn finish(&mut self) -> Result<Vec<AudioFrame>, CodecError> {
        let mut out = Vec::new();
        if !self.waiting[0].is_empty() {
            self.encode(self.waiting[0].len(), &mut out)?;
        }
        let _ = self.encoder.send_eof();
        let origin = self.origin();
        drain(&mut self.encoder, self.config, Some(origin), &mut out);
        Ok(out)
    }

    /// Encodes the first `count` waiting samples as one frame.
    fn encode(&mut self, count: usize, out: &mut Vec<AudioFrame>) -> Result<(), CodecError> {
        let layout = ff::ChannelLayout::default(self.channels as i32);
        let format = ff::format::Sample::F32(ff::format::sample::Type::Planar);
        let mut frame = frame::Audio::new(format, count, layout);
        frame.set_rate(self.rate);
        for (channel, waiting) in self.waiting.iter_mut().enumerate() {
            frame.plane_mut::<f32>(channel)[..count].copy_from_slice(&waiting[..count]);
            waiting.drain(..count);
        }
        let (first, base) = (self.first.unwrap_or(0), self.base.unwrap_or(0));
        frame.set_pts(Some((first - base) as i64));
        self.first = Some(first + count as u64);
        self.encoder.send_frame(&frame).map_err(|e| CodecError::Ffmpeg("encoding AAC", e))?;
        let origin = self.origin();
        drain(&mut self.encoder, self.config, Some(origin), out);
        Ok(())
    }

    /// The first sample's time (90 kHz, extended) and the sample rate.
    fn origin(&self) -> (u64, u32) {
        let base = u128::from(self.base.unwrap_or(0));
        ((base * 90_000 / u128::from(self.rate)) as u64, self.rate)
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
