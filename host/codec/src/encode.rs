//! A live encoder of raw flows: v210 pictures and 32-bit float PCM, each
//! stamped on the TAI clock, into one MPEG-TS program of H.264 (x264) and
//! AAC, for the distributor and the HLS/DASH packager to take like any
//! other transport stream.
//!
//! Timestamps come from the grains, not from arrival: a picture's PTS is
//! its TAI time on the 90 kHz clock (33 bits, as MPEG-TS wraps it) and a
//! sample's is its index on the sample clock, so audio and video stay
//! locked whatever the load, and a packager can turn any PTS back into
//! TAI (and UTC). Keyframes fall on the TAI grid of `keyframe_s` (every
//! whole 2 s of TAI, say), so two encoders of the same flow, or an
//! encoder restarted, cut their GOPs at the same instants.
//!
//! The program: PAT, PMT on PID 0x1000, H.264 on 0x100 carrying the PCR
//! (100 ms ahead of each picture's DTS), AAC in ADTS on 0x101. PAT and
//! PMT go out before every keyframe and at least every 100 ms. Audio is
//! held back until the video around it is out (the video encoder runs a
//! few pictures behind), so the multiplex stays in time order.

use crate::CodecError;
use crate::audio::PcmEncoding;
use crate::ladder::{CLOCK, video_pes, x264};
use crate::v210::{Plane, to_yuv420p};
use ff::format::Pixel;
use ff::{Rational, frame, picture};
use ffmpeg_next as ff;
use stagebox_media::ts::{
    PACKET_SIZE, Pat, PesOut, PesPacketizer, Pmt, PmtStream, STREAM_TYPE_AAC, STREAM_TYPE_H264, SectionPacketizer,
    WRAP, ns_to_ticks,
};
use std::collections::VecDeque;

/// The PMT's PID.
pub const PMT_PID: u16 = 0x1000;
/// The video's PID (it carries the PCR).
pub const VIDEO_PID: u16 = 0x100;
/// The audio's PID.
pub const AUDIO_PID: u16 = 0x101;

/// Ticks (90 kHz) between PAT/PMT repetitions at most.
const PSI_EVERY: u64 = 9_000;

/// What the encoder makes.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// Picture width (even).
    pub width: u32,
    /// Picture height (even).
    pub height: u32,
    /// Frames per second, as numerator and denominator.
    pub rate: (u32, u32),
    /// H.264 bits per second.
    pub video_bitrate: u64,
    /// Seconds between keyframes, on the TAI grid.
    pub keyframe_s: f64,
    /// x264's preset (`veryfast`).
    pub preset: String,
    /// The audio, if any.
    pub audio: Option<AudioConfig>,
}

/// The audio the encoder takes and makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioConfig {
    /// Samples per second.
    pub rate: u32,
    /// Channels (1 or 2).
    pub channels: u32,
    /// AAC bits per second.
    pub bitrate: u64,
}

/// The encoder; see the module docs.
pub struct Encoder {
    config: EncoderConfig,
    video: ff::encoder::Video,
    /// The converted picture's planes (lines unpadded), then the frame
    /// x264 takes.
    planes: [Vec<u8>; 3],
    picture: frame::Video,
    audio: Option<PcmEncoding>,
    video_pes: PesPacketizer,
    audio_pes: PesPacketizer,
    pat: (SectionPacketizer, Vec<u8>),
    pmt: (SectionPacketizer, Vec<u8>),
    /// When PAT and PMT last went out (90 kHz, extended).
    psi_at: Option<u64>,
    /// Keyframe spacing and the next keyframe's time (90 kHz, extended).
    step: u64,
    next_key: Option<u64>,
    /// AAC frames (PTS, extended; ADTS bytes) waiting for the video.
    held: VecDeque<(u64, Vec<u8>)>,
    /// The DTS of the last picture out (90 kHz, extended).
    video_dts: Option<u64>,
    out: Vec<u8>,
    pictures: u64,
}

impl Encoder {
    /// Opens the encoders for `config`.
    pub fn new(config: EncoderConfig) -> Result<Encoder, CodecError> {
        let (num, den) = config.rate;
        if num == 0 || den == 0 || f64::from(num) / f64::from(den) > 120.0 {
            return Err(CodecError::Config(format!("a frame rate of {num}/{den}")));
        }
        if !(0.1..=60.0).contains(&config.keyframe_s) {
            return Err(CodecError::Config("keyframe_s: 0.1 to 60 seconds".into()));
        }
        ff::init().map_err(|e| CodecError::Ffmpeg("initialising", e))?;
        ff::util::log::set_level(ff::util::log::Level::Error);
        let rate = Rational::new(num as i32, den as i32);
        let gop = (config.keyframe_s * f64::from(rate)).ceil().max(1.0) as u32;
        let video = x264(config.width, config.height, rate, config.video_bitrate, gop, &config.preset)?;
        let audio = config.audio.map(|a| PcmEncoding::new(a.rate, a.channels, a.bitrate)).transpose()?;
        let mut streams = vec![PmtStream { stream_type: STREAM_TYPE_H264, pid: VIDEO_PID, descriptors: Vec::new() }];
        if audio.is_some() {
            streams.push(PmtStream { stream_type: STREAM_TYPE_AAC, pid: AUDIO_PID, descriptors: Vec::new() });
        }
        let pat = Pat { transport_stream_id: 1, version: 0, programs: vec![(1, PMT_PID)] };
        let pmt = Pmt { program: 1, version: 0, pcr_pid: VIDEO_PID, descriptors: Vec::new(), streams };
        let (w, h) = (config.width as usize, config.height as usize);
        Ok(Encoder {
            planes: [vec![0; w * h], vec![0; w * h / 4], vec![0; w * h / 4]],
            picture: frame::Video::new(Pixel::YUV420P, config.width, config.height),
            step: (config.keyframe_s * f64::from(CLOCK)).round() as u64,
            config,
            video,
            audio,
            video_pes: PesPacketizer::new(VIDEO_PID, 0),
            audio_pes: PesPacketizer::new(AUDIO_PID, 0),
            pat: (SectionPacketizer::new(0, 0), pat.to_section()),
            pmt: (SectionPacketizer::new(PMT_PID, 0), pmt.to_section()),
            psi_at: None,
            next_key: None,
            held: VecDeque::new(),
            video_dts: None,
            out: Vec::new(),
            pictures: 0,
        })
    }

    /// Pictures taken so far.
    pub fn pictures(&self) -> u64 {
        self.pictures
    }

    /// Encodes one v210 picture of the configured size, shown at `tai_ns`.
    pub fn video(&mut self, v210: &[u8], tai_ns: u64) -> Result<(), CodecError> {
        let pts = ns_to_ticks(tai_ns);
        let key = match self.next_key {
            Some(next) => pts >= next,
            None => true,
        };
        if key {
            // The next whole multiple of the step after this picture.
            self.next_key = Some((pts / self.step + 1) * self.step);
        }
        let w = self.config.width as usize;
        let [y, cb, cr] = &mut self.planes;
        let planes =
            [Plane { data: y, stride: w }, Plane { data: cb, stride: w / 2 }, Plane { data: cr, stride: w / 2 }];
        to_yuv420p(v210, self.config.width, self.config.height, planes)?;
        // Into the frame's planes, whose lines may be padded.
        for (i, (plane, width)) in self.planes.iter().zip([w, w / 2, w / 2]).enumerate() {
            let stride = self.picture.stride(i);
            let data = self.picture.data_mut(i);
            for (line, row) in plane.chunks_exact(width).enumerate() {
                data[line * stride..][..width].copy_from_slice(row);
            }
        }
        self.picture.set_pts(Some(pts as i64));
        self.picture.set_kind(if key { picture::Type::I } else { picture::Type::None });
        self.video.send_frame(&self.picture).map_err(|e| CodecError::Ffmpeg("encoding a picture", e))?;
        self.pictures += 1;
        self.drain_video();
        Ok(())
    }

    /// Encodes audio samples from sample `index` on (TAI on the sample
    /// clock), one slice per channel. Without audio configured, refused.
    pub fn audio(&mut self, index: u64, channels: &[&[f32]]) -> Result<(), CodecError> {
        let audio = self.audio.as_mut().ok_or_else(|| CodecError::Config("this encoder has no audio".into()))?;
        let frames = audio.push(index, channels)?;
        self.held.extend(frames);
        self.release_audio(false);
        Ok(())
    }

    /// The transport packets made since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The flows ended: everything the encoders hold, as packets.
    pub fn finish(&mut self) -> Result<Vec<u8>, CodecError> {
        let _ = self.video.send_eof();
        self.drain_video();
        if let Some(audio) = &mut self.audio {
            self.held.extend(audio.finish()?);
        }
        self.release_audio(true);
        Ok(self.take())
    }

    /// Packetizes the pictures x264 has ready, with PAT and PMT before
    /// keyframes, then the audio they let go.
    fn drain_video(&mut self) {
        let mut packet = ff::Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            let Some((dts, pes)) = video_pes(&packet, true) else { continue };
            // Audio due before this picture goes first.
            self.video_dts = Some(dts);
            self.release_audio(false);
            if packet.is_key() || self.psi_at.is_none_or(|at| dts.saturating_sub(at) >= PSI_EVERY) {
                self.psi_at = Some(dts);
                for (packetizer, section) in [&mut self.pat, &mut self.pmt] {
                    for p in packetizer.packets(section) {
                        self.out.extend_from_slice(&p);
                    }
                }
            }
            self.video_pes.packets(&pes, &mut self.out);
        }
    }

    /// Sends the held AAC frames due by the last picture's DTS (all of
    /// them at the end).
    fn release_audio(&mut self, all: bool) {
        while let Some((pts, _)) = self.held.front() {
            if !all && self.video_dts.is_none_or(|dts| *pts > dts) {
                break;
            }
            let Some((pts, adts)) = self.held.pop_front() else { break };
            let pes = PesOut {
                stream_id: 0xc0,
                pts: pts % WRAP,
                dts: pts % WRAP,
                payload: &adts,
                random_access: true,
                pcr: None,
            };
            self.audio_pes.packets(&pes, &mut self.out);
        }
        debug_assert!(self.out.len().is_multiple_of(PACKET_SIZE));
    }
}
