//! The encoding ladder: the channel's H.264 decoded once, then for each
//! rendition scaled and encoded with x264 (through libavcodec), with
//! keyframes on the same pictures in every rendition: the first, one at
//! each segment boundary (every `segment_s` from the first picture), and
//! one at each splice point asked for. Each rendition is the channel's
//! transport stream with its video replaced: the video keeps its PID and
//! stream type, and every other packet (PSI, SCTE-35, other streams) is
//! copied unchanged, so a rendition can be packaged exactly as the source
//! is. The audio (the first ADTS AAC stream) is decoded and encoded again
//! as AAC LC at the ladder's audio bitrate, once for all renditions, on
//! its own PID, or copied when the ladder has no audio bitrate.
//!
//! A ladder is `Send` (it runs on an output's own thread).
//!
//! Captions survive: the decoder hands each picture's A/53 cc_data over as
//! side data, and x264 writes it back into the SEI of every rendition.
//!
//! Keyframes are forced IDRs (`forced-idr`, no scene cuts, closed GOPs),
//! so every rendition can be cut at the same PTS and a player can switch
//! between them at any segment boundary.

use crate::CodecError;
use crate::audio::AudioEncoding;
use ff::format::Pixel;
use ff::software::scaling::{Context as Scaler, Flags};
use ff::{Dictionary, Rational, codec, frame, picture};
use ffmpeg_next as ff;
use stagebox_media::ts::{
    PACKET_SIZE, Packet, PesAssembler, PesOut, PesPacketizer, ProgramWatch, STREAM_TYPE_AAC, STREAM_TYPE_H264,
    Timeline, WRAP,
};

/// The 90 kHz clock of MPEG-TS timestamps.
pub(crate) const CLOCK: i32 = 90_000;
/// How far the PCR runs ahead of the DTS it announces (27 MHz): 100 ms,
/// as 13818-1's T-STD model allows.
const PCR_LEAD: u64 = 9_000 * 300;

/// As many threads as the machine has, as the ffmpeg CLI gives its
/// decoders and x264 (the library's default is one).
fn threads() -> codec::threading::Config {
    codec::threading::Config { kind: codec::threading::Type::Frame, count: 0, ..Default::default() }
}

/// An x264 encoder of `width` × `height` pictures at `rate`, stamped on
/// the 90 kHz clock, at `bitrate` bits per second (also the VBV's maximum,
/// over two seconds' buffer), with keyframes where the caller forces them:
/// x264's own stay out of the way (every `2 × gop` pictures) and never
/// cut at scene changes.
pub(crate) fn x264(
    width: u32,
    height: u32,
    rate: Rational,
    bitrate: u64,
    gop: u32,
    preset: &str,
) -> Result<ff::encoder::Video, CodecError> {
    let codec = ff::encoder::find_by_name("libx264").ok_or(CodecError::Missing("libx264"))?;
    let mut context = codec::context::Context::new_with_codec(codec);
    context.set_threading(threads());
    let mut video = context.encoder().video().map_err(|e| CodecError::Ffmpeg("making an x264 encoder", e))?;
    video.set_width(width);
    video.set_height(height);
    video.set_format(Pixel::YUV420P);
    video.set_time_base(Rational::new(1, CLOCK));
    video.set_frame_rate(Some(rate));
    video.set_gop(gop * 2);
    video.set_bit_rate(bitrate as usize);
    video.set_max_bit_rate(bitrate as usize);
    let mut options = Dictionary::new();
    options.set("preset", preset);
    options.set("forced-idr", "1");
    options.set("bufsize", &(bitrate * 2).to_string());
    options.set("x264-params", "scenecut=0:open-gop=0:repeat-headers=1");
    video.open_with(options).map_err(|e| CodecError::Ffmpeg("opening an x264 encoder (is the size valid?)", e))
}

/// One rendition of the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    /// Its name (`720p`), unique in the ladder.
    pub name: String,
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Video bits per second (also the peak, with a two-second buffer).
    pub bitrate: u64,
}

impl Rendition {
    /// The seed's ladder: 720p at 2.5 Mb/s, 1080p at 5 Mb/s and at 8 Mb/s.
    pub fn defaults() -> Vec<Rendition> {
        [("720p", 1280, 720, 2_500_000), ("1080p", 1920, 1080, 5_000_000), ("1080p-hq", 1920, 1080, 8_000_000)]
            .into_iter()
            .map(|(name, width, height, bitrate)| Rendition { name: name.into(), width, height, bitrate })
            .collect()
    }

    /// `NAME:WIDTHxHEIGHT@KBPS` (`720p:1280x720@2500`).
    pub fn parse(text: &str) -> Result<Rendition, CodecError> {
        let bad = || CodecError::Config(format!("{text:?} is not NAME:WIDTHxHEIGHT@KBPS (720p:1280x720@2500)"));
        let (name, rest) = text.split_once(':').ok_or_else(bad)?;
        let (size, kbps) = rest.split_once('@').ok_or_else(bad)?;
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        let (width, height, kbps): (u32, u32, u64) =
            (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?, kbps.parse().map_err(|_| bad())?);
        let named = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !named
            || width % 2 != 0
            || height % 2 != 0
            || !(16..=7680).contains(&width)
            || !(16..=4320).contains(&height)
        {
            return Err(CodecError::Config(format!(
                "{text:?}: a name of letters, digits, - and _, and an even size from 16x16 to 7680x4320"
            )));
        }
        if !(100..=100_000).contains(&kbps) {
            return Err(CodecError::Config(format!("{text:?}: 100 to 100000 kb/s")));
        }
        Ok(Rendition { name: name.into(), width, height, bitrate: kbps * 1000 })
    }
}

/// What the ladder makes.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderConfig {
    /// The renditions, in order.
    pub renditions: Vec<Rendition>,
    /// Seconds between forced keyframes: the segment duration.
    pub segment_s: f64,
    /// x264's preset (`veryfast`).
    pub preset: String,
    /// The audio (the program's first ADTS AAC stream) re-encoded as AAC
    /// LC at this many bits per second, the same in every rendition;
    /// `None`: copied as it came.
    pub audio_bitrate: Option<u64>,
}

/// One rendition's encoder and its output.
struct Encoding {
    rendition: Rendition,
    scaler: Option<Scaler>,
    encoder: ff::encoder::Video,
    packetizer: PesPacketizer,
    /// The re-encoded audio's PID, when the audio is re-encoded.
    audio: Option<PesPacketizer>,
    /// Transport packets made since the last hand-over.
    out: Vec<u8>,
    scaled: frame::Video,
}

// SAFETY: ffmpeg-next leaves its scaling context `!Send` because it holds
// a raw `SwsContext` pointer. This `Encoding` owns its context alone (it is
// never shared or aliased) and uses it only through `&mut self`, and a
// libswscale context has no thread affinity (no thread-local state), so
// moving it to another thread with its owner is sound. Everything else in
// `Encoding` is `Send` already.
unsafe impl Send for Encoding {}

/// The source's video, as far as it is known.
struct Source {
    pid: u16,
    /// The video carries the program's PCR: the renditions' video must too.
    pcr: bool,
    /// The first ADTS AAC stream, and whether it carries the PCR.
    audio: Option<(u16, bool)>,
}

/// The ladder; see the module docs.
pub struct Ladder {
    config: LadderConfig,
    watch: ProgramWatch,
    source: Option<Source>,
    assembler: PesAssembler,
    decoder: ff::decoder::Video,
    /// With `audio_bitrate`: the audio's PES and its encoding.
    audio: Option<(PesAssembler, AudioEncoding)>,
    encodings: Vec<Encoding>,
    /// Frames decoded before the encoders could be opened (the frame rate
    /// is measured on the first two).
    waiting: Vec<frame::Video>,
    timeline: Timeline,
    /// The next forced keyframe's PTS (extended 90 kHz).
    next_key: Option<u64>,
    /// Splice points still ahead (extended 90 kHz).
    splits: Vec<u64>,
    /// Pictures decoded, and encoded per rendition.
    decoded: u64,
}

impl Ladder {
    /// A ladder for `config`; nothing is opened until the first picture.
    pub fn new(config: LadderConfig) -> Result<Ladder, CodecError> {
        if config.renditions.is_empty() {
            return Err(CodecError::Config("a ladder needs a rendition".into()));
        }
        if !(config.segment_s > 0.0 && config.segment_s <= 60.0) {
            return Err(CodecError::Config("segment_s: more than 0, at most 60".into()));
        }
        ff::init().map_err(|e| CodecError::Ffmpeg("initialising", e))?;
        // FFmpeg's own log would go to stderr: only its errors, which the
        // ladder reports as its own anyway.
        ff::util::log::set_level(ff::util::log::Level::Error);
        let h264 = ff::decoder::find(codec::Id::H264).ok_or(CodecError::Missing("an H.264 decoder"))?;
        if ff::encoder::find_by_name("libx264").is_none() {
            return Err(CodecError::Missing("libx264"));
        }
        let mut context = codec::context::Context::new_with_codec(h264);
        context.set_threading(threads());
        let decoder = context.decoder().video().map_err(|e| CodecError::Ffmpeg("opening the H.264 decoder", e))?;
        let audio = match config.audio_bitrate {
            Some(bitrate) => Some((PesAssembler::default(), AudioEncoding::new(bitrate)?)),
            None => None,
        };
        Ok(Ladder {
            audio,
            config,
            watch: ProgramWatch::new(),
            source: None,
            assembler: PesAssembler::default(),
            decoder,
            encodings: Vec::new(),
            waiting: Vec::new(),
            timeline: Timeline::default(),
            next_key: None,
            splits: Vec::new(),
            decoded: 0,
        })
    }

    /// The renditions, in order.
    pub fn renditions(&self) -> &[Rendition] {
        &self.config.renditions
    }

    /// Pictures decoded so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Asks for a keyframe in every rendition at the first picture at or
    /// after `pts` (a splice point, 90 kHz, 33 bits).
    pub fn cut_at(&mut self, pts: u64) {
        let mut timeline = self.timeline;
        let at = timeline.extend(pts);
        self.splits.push(at);
        self.splits.sort_unstable();
        self.splits.truncate(16);
    }

    /// Adds the channel's transport packets (whole 188-byte packets);
    /// returns each rendition's transport packets made since the last call,
    /// in rendition order.
    pub fn push(&mut self, packets: &[u8]) -> Result<Vec<Vec<u8>>, CodecError> {
        for chunk in packets.chunks_exact(PACKET_SIZE) {
            let Ok(bytes) = <&[u8; PACKET_SIZE]>::try_from(chunk) else { continue };
            let _ = self.watch.observe(bytes);
            if self.source.is_none() {
                self.source = self.find_video();
            }
            let Ok(packet) = Packet::parse(bytes) else { continue };
            let audio_pid = self.source.as_ref().and_then(|s| s.audio).map(|(pid, _)| pid);
            match &self.source {
                Some(source) if source.pid == packet.pid => {
                    let mut done = Vec::new();
                    if self.assembler.push(packet.payload, packet.unit_start, &mut done).is_err() {
                        continue;
                    }
                    for pes in done {
                        self.decode(&pes)?;
                    }
                }
                Some(_) if self.audio.is_some() && audio_pid == Some(packet.pid) => {
                    let Some((assembler, _)) = &mut self.audio else { continue };
                    let mut done = Vec::new();
                    if assembler.push(packet.payload, packet.unit_start, &mut done).is_err() {
                        continue;
                    }
                    for pes in done {
                        self.encode_audio(&pes)?;
                    }
                }
                // Everything else, as it came, to every rendition (before
                // the encoders open, it waits with nothing: a rendition
                // starts with the PSI that follows).
                _ => {
                    for e in &mut self.encodings {
                        e.out.extend_from_slice(chunk);
                    }
                }
            }
        }
        Ok(self.take())
    }

    /// Ends the stream: what the decoder and the encoders hold comes out.
    pub fn finish(&mut self) -> Result<Vec<Vec<u8>>, CodecError> {
        let mut done = Vec::new();
        let _ = self.assembler.finish(&mut done);
        for pes in done {
            self.decode(&pes)?;
        }
        if let Some((assembler, _)) = &mut self.audio {
            let mut done = Vec::new();
            let _ = assembler.finish(&mut done);
            for pes in done {
                self.encode_audio(&pes)?;
            }
            let frames = match &mut self.audio {
                Some((_, encoding)) => encoding.finish()?,
                None => Vec::new(),
            };
            self.packetize_audio(frames);
        }
        self.decoder.send_eof().map_err(|e| CodecError::Ffmpeg("flushing the decoder", e))?;
        self.receive_frames()?;
        if self.encodings.is_empty() && !self.waiting.is_empty() {
            self.open_encoders()?;
        }
        let pcr = self.source.as_ref().is_some_and(|s| s.pcr);
        for e in &mut self.encodings {
            e.encoder.send_eof().map_err(|err| CodecError::Ffmpeg("flushing an encoder", err))?;
            drain(e, pcr);
        }
        Ok(self.take())
    }

    fn take(&mut self) -> Vec<Vec<u8>> {
        if self.encodings.is_empty() {
            return vec![Vec::new(); self.config.renditions.len()];
        }
        self.encodings.iter_mut().map(|e| std::mem::take(&mut e.out)).collect()
    }

    /// The first H.264 stream of the PMTs seen, and its program's first
    /// ADTS AAC stream.
    fn find_video(&self) -> Option<Source> {
        self.watch.pmts().values().find_map(|pmt| {
            let video = pmt.streams.iter().find(|s| s.stream_type == STREAM_TYPE_H264)?;
            let audio =
                pmt.streams.iter().find(|s| s.stream_type == STREAM_TYPE_AAC).map(|a| (a.pid, pmt.pcr_pid == a.pid));
            Some(Source { pid: video.pid, pcr: pmt.pcr_pid == video.pid, audio })
        })
    }

    /// One PES of the source's audio, re-encoded into every rendition.
    fn encode_audio(&mut self, pes: &stagebox_media::ts::Pes) -> Result<(), CodecError> {
        let (Some(pts), Some((_, encoding))) = (pes.pts, &mut self.audio) else { return Ok(()) };
        let mut timeline = self.timeline;
        let frames = encoding.push(&pes.payload, timeline.extend(pts))?;
        self.packetize_audio(frames);
        Ok(())
    }

    /// Re-encoded audio frames into every rendition, a PES each.
    fn packetize_audio(&mut self, frames: Vec<crate::audio::AudioFrame>) {
        let pcr = self.source.as_ref().and_then(|s| s.audio).is_some_and(|(_, pcr)| pcr);
        for e in &mut self.encodings {
            let Some(packetizer) = &mut e.audio else { continue };
            for (pts, adts) in &frames {
                let out = PesOut {
                    stream_id: 0xc0,
                    pts: pts % WRAP,
                    dts: pts % WRAP,
                    payload: adts,
                    random_access: true,
                    pcr: pcr.then(|| pcr_before(*pts)),
                };
                packetizer.packets(&out, &mut e.out);
            }
        }
    }

    /// Decodes one PES of the source's video.
    fn decode(&mut self, pes: &stagebox_media::ts::Pes) -> Result<(), CodecError> {
        let Some(pts) = pes.pts else { return Ok(()) };
        let pts = self.timeline.extend(pts);
        let dts = pes.dts.map_or(pts, |d| {
            let mut t = self.timeline;
            t.extend(d)
        });
        let mut packet = ff::Packet::copy(&pes.payload);
        packet.set_pts(Some(pts as i64));
        packet.set_dts(Some(dts as i64));
        // A damaged access unit is the decoder's to conceal; only a
        // decoder that refuses input altogether stops the ladder.
        if let Err(e) = self.decoder.send_packet(&packet) {
            tracing::debug!("the decoder refused an access unit: {e}");
        }
        self.receive_frames()
    }

    fn receive_frames(&mut self) -> Result<(), CodecError> {
        let mut decoded = frame::Video::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            self.decoded += 1;
            if self.encodings.is_empty() {
                self.waiting.push(std::mem::replace(&mut decoded, frame::Video::empty()));
                if self.waiting.len() >= 2 {
                    self.open_encoders()?;
                }
                continue;
            }
            self.encode(&mut decoded)?;
        }
        Ok(())
    }

    /// Opens an encoder per rendition, at the source's frame rate (its
    /// SPS timing, or the first two pictures' spacing), and encodes the
    /// pictures that waited.
    fn open_encoders(&mut self) -> Result<(), CodecError> {
        let measured = match self.waiting.as_slice() {
            [a, b, ..] => b.pts().zip(a.pts()).map(|(b, a)| (b - a).unsigned_abs()).filter(|d| *d > 0),
            _ => None,
        };
        let rate = match (self.decoder.frame_rate().filter(|r| r.numerator() > 0 && r.denominator() > 0), measured) {
            (Some(r), _) => r,
            (None, Some(ticks)) => Rational::new(CLOCK, ticks as i32),
            (None, None) => Rational::new(25, 1),
        };
        let gop = (self.config.segment_s * f64::from(rate)).ceil().max(1.0) as u32;
        for rendition in &self.config.renditions {
            let encoder = x264(rendition.width, rendition.height, rate, rendition.bitrate, gop, &self.config.preset)?;
            let pid = self.source.as_ref().map_or(0x100, |s| s.pid);
            let audio_pid = self.source.as_ref().and_then(|s| s.audio).map(|(pid, _)| pid);
            self.encodings.push(Encoding {
                rendition: rendition.clone(),
                scaler: None,
                encoder,
                packetizer: PesPacketizer::new(pid, 0),
                audio: audio_pid.filter(|_| self.audio.is_some()).map(|pid| PesPacketizer::new(pid, 0)),
                out: Vec::new(),
                scaled: frame::Video::empty(),
            });
        }
        for mut waiting in std::mem::take(&mut self.waiting) {
            self.encode(&mut waiting)?;
        }
        Ok(())
    }

    /// Whether the picture at `pts` must be a keyframe: the first, and the
    /// first at or after each segment boundary or splice point.
    fn keyframe(&mut self, pts: u64) -> bool {
        let step = (self.config.segment_s * f64::from(CLOCK)).round() as u64;
        let boundary = match self.next_key {
            None => true,
            Some(next) => pts >= next,
        };
        let splice = self.splits.first().is_some_and(|s| pts >= *s);
        self.splits.retain(|s| pts < *s);
        if boundary {
            let mut next = self.next_key.unwrap_or(pts);
            while next <= pts {
                next += step;
            }
            self.next_key = Some(next);
        }
        boundary || splice
    }

    fn encode(&mut self, decoded: &mut frame::Video) -> Result<(), CodecError> {
        let Some(pts) = decoded.pts().and_then(|p| u64::try_from(p).ok()) else { return Ok(()) };
        let key = self.keyframe(pts);
        let pcr = self.source.as_ref().is_some_and(|s| s.pcr);
        decoded.set_pts(Some(pts as i64));
        decoded.set_kind(if key { picture::Type::I } else { picture::Type::None });
        for e in &mut self.encodings {
            let (w, h) = (e.rendition.width, e.rendition.height);
            // A rendition of the source's own size and format is encoded
            // from the decoded picture itself, as ffmpeg's scale filter
            // passes such a picture through.
            let same = decoded.format() == Pixel::YUV420P && decoded.width() == w && decoded.height() == h;
            let picture = if same {
                &*decoded
            } else {
                // A new scaler when the source's size or format changes (a
                // switch to a backup input).
                let input = (decoded.format(), decoded.width(), decoded.height());
                if e.scaler.as_ref().is_some_and(|s| {
                    let i = s.input();
                    (i.format, i.width, i.height) != input
                }) {
                    e.scaler = None;
                }
                let scaler = match &mut e.scaler {
                    Some(s) => s,
                    None => e.scaler.insert(
                        Scaler::get(
                            decoded.format(),
                            decoded.width(),
                            decoded.height(),
                            Pixel::YUV420P,
                            w,
                            h,
                            Flags::BILINEAR,
                        )
                        .map_err(|err| CodecError::Ffmpeg("making a scaler", err))?,
                    ),
                };
                scaler.run(decoded, &mut e.scaled).map_err(|err| CodecError::Ffmpeg("scaling a picture", err))?;
                copy_captions(decoded, &mut e.scaled);
                e.scaled.set_pts(Some(pts as i64));
                e.scaled.set_kind(if key { picture::Type::I } else { picture::Type::None });
                &e.scaled
            };
            e.encoder.send_frame(picture).map_err(|err| CodecError::Ffmpeg("encoding a picture", err))?;
            drain(e, pcr);
        }
        Ok(())
    }
}

/// The PCR (27 MHz) announcing a unit decoded at `ts` (90 kHz): `PCR_LEAD`
/// before it, across the 33-bit wrap.
pub(crate) fn pcr_before(ts: u64) -> u64 {
    (ts % WRAP + WRAP - PCR_LEAD / 300) % WRAP * 300
}

/// The picture's A/53 captions (the decoder's side data, which libx264
/// writes back into the SEI), onto its scaled copy; a copy never keeps the
/// last picture's.
fn copy_captions(from: &frame::Video, to: &mut frame::Video) {
    use ff::util::frame::side_data::Type;
    to.remove_side_data(Type::A53CC);
    let Some(cc) = from.side_data(Type::A53CC) else { return };
    let bytes = cc.data().to_vec();
    let Some(mut copy) = to.new_side_data(Type::A53CC, bytes.len()) else { return };
    // SAFETY: `new_side_data` allocated `bytes.len()` bytes at `data` (it
    // returned `Some`, so the allocation succeeded), owned by `to` and not
    // yet shared; `bytes` is our own buffer, so the two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (*copy.as_mut_ptr()).data, bytes.len());
    }
}

/// Packetizes what encoder `e` has ready.
fn drain(e: &mut Encoding, pcr: bool) {
    let mut packet = ff::Packet::empty();
    while e.encoder.receive_packet(&mut packet).is_ok() {
        let Some((_, out)) = video_pes(&packet, pcr) else { continue };
        e.packetizer.packets(&out, &mut e.out);
    }
}

/// A coded picture as the first video stream's PES: 33-bit PTS and DTS,
/// random access on keyframes, and when `pcr` a PCR just before its DTS.
/// With it, the picture's DTS unwrapped; `None` for a packet without a
/// time or data.
pub(crate) fn video_pes(packet: &ff::Packet, pcr: bool) -> Option<(u64, PesOut<'_>)> {
    let (Some(pts), Some(data)) = (packet.pts(), packet.data()) else { return None };
    let (pts, dts) = (pts.max(0) as u64, packet.dts().unwrap_or(pts).max(0) as u64);
    let out = PesOut {
        stream_id: 0xe0,
        pts: pts % WRAP,
        dts: dts % WRAP,
        payload: data,
        random_access: packet.is_key(),
        pcr: pcr.then(|| pcr_before(dts)),
    };
    Some((dts, out))
}
