//! Flow descriptors: what a flow carries, validated.
//!
//! A descriptor serialises to, and parses from, the NMOS IS-04 flow JSON that
//! libmxl stores as `flow_def.json`, so there is one shape on disk, in the API
//! and in libmxl's tools. Parsing validates: a descriptor that exists can be
//! laid out as a ring.

use crate::Rational;
use crate::layout::format_code;
use crate::rational::RationalError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

const GROUP_HINT_TAG: &str = "urn:x-nmos:tag:grouphint/v1.0";
const MAX_WIDTH: u32 = 7680;
const MAX_HEIGHT: u32 = 4320;
const MAX_CHANNELS: u32 = 256;
const MAX_SAMPLE_RATE: u64 = 768_000;
/// Largest variable-size grain: 64 MiB (a 2160p intra frame fits many times).
pub const MAX_GRAIN_BYTES: u32 = 64 << 20;

/// What a flow carries and at what rate, with its identity.
///
/// ```
/// use stagebox_flow::{FlowDescriptor, FlowFormat, VideoFormat, VideoCoding, Rational};
/// let d = FlowDescriptor::new(
///     uuid::Uuid::new_v4(),
///     "Cam 1",
///     FlowFormat::Video(VideoFormat::progressive(VideoCoding::V210, 1920, 1080, Rational::new(50, 1).unwrap())),
/// ).unwrap();
/// let json = d.to_json();
/// assert_eq!(FlowDescriptor::from_json(&json).unwrap(), d);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NmosFlow", into = "NmosFlow")]
pub struct FlowDescriptor {
    id: Uuid,
    label: String,
    description: String,
    group_hints: Vec<String>,
    format: FlowFormat,
}

/// The essence of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowFormat {
    /// Video frames (or fields), uncompressed or compressed.
    Video(VideoFormat),
    /// PCM audio: a continuous flow of samples.
    Audio(AudioFormat),
    /// Timed data: ancillary data, captions, SCTE-35.
    Data(DataFormat),
    /// Multiplexed transport: MPEG-TS packets.
    Mux(MuxFormat),
}

/// How video pixels are coded in a grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCoding {
    /// 10-bit 4:2:2 packed, 128 bytes per 48 pixels (`video/v210`; MXL standard).
    V210,
    /// v210 fill followed by a 10-bit key plane (`video/v210a`; MXL standard).
    V210a,
    /// 8-bit 4:2:2 packed Cb Y Cr Y (extension).
    Uyvy,
    /// 8-bit RGBA (extension).
    Rgba,
    /// H.264 access units, variable size (extension).
    H264,
    /// H.265 access units, variable size (extension).
    H265,
}

/// Progressive or interlaced scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interlace {
    /// One grain is one frame.
    Progressive,
    /// One grain is one field, top field first.
    TopFieldFirst,
    /// One grain is one field, bottom field first.
    BottomFieldFirst,
}

/// A video format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    /// Pixel coding.
    pub coding: VideoCoding,
    /// Width in pixels.
    pub width: u32,
    /// Height in lines (of the frame, also when interlaced).
    pub height: u32,
    /// Frame rate.
    pub rate: Rational,
    /// Scanning.
    pub interlace: Interlace,
    /// Capacity of one grain for compressed codings; ignored otherwise.
    pub max_grain_bytes: Option<u32>,
}

impl VideoFormat {
    /// A progressive format with no grain-size cap.
    pub fn progressive(coding: VideoCoding, width: u32, height: u32, rate: Rational) -> Self {
        VideoFormat { coding, width, height, rate, interlace: Interlace::Progressive, max_grain_bytes: None }
    }
}

/// How audio samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit float (`audio/float32`, bit depth 32; MXL standard).
    F32,
    /// 64-bit float (bit depth 64; accepted by libmxl).
    F64,
}

/// An audio format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFormat {
    /// Samples per second.
    pub sample_rate: Rational,
    /// Channels, each with its own ring.
    pub channels: u32,
    /// Sample word.
    pub sample: SampleFormat,
}

/// Kinds of timed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// SMPTE ST 291 ancillary data packets (`video/smpte291`; MXL standard).
    Smpte291,
    /// CEA-708 `cc_data` triplets, carrying CEA-608 too (extension).
    CcData,
    /// SCTE-35 `splice_info_section`s (extension).
    Scte35,
}

/// A data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFormat {
    /// What the grains hold.
    pub kind: DataKind,
    /// Nominal grain rate (usually the video frame rate).
    pub rate: Rational,
    /// Capacity of one grain for extension kinds; SMPTE 291 is always 4096.
    pub max_grain_bytes: u32,
}

/// Kinds of multiplex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuxKind {
    /// 188-byte MPEG-TS packets (`video/MP2T`; extension).
    MpegTs,
}

/// A multiplex format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuxFormat {
    /// The multiplex.
    pub kind: MuxKind,
    /// Nominal grain rate.
    pub rate: Rational,
    /// Capacity of one grain.
    pub max_grain_bytes: u32,
}

/// Why a descriptor was refused.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// The text is not JSON of the expected shape.
    #[error("flow definition is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// `format` is not one of the NMOS format URNs.
    #[error("unknown flow format {0:?}")]
    UnknownFormat(String),
    /// `media_type` is not supported for that format.
    #[error("media type {media_type:?} is not supported for format {format:?}")]
    UnsupportedMediaType {
        /// The format URN.
        format: String,
        /// The media type given.
        media_type: String,
    },
    /// A field the format needs is absent.
    #[error("field {0:?} is required")]
    MissingField(&'static str),
    /// The label is empty.
    #[error("label must not be empty")]
    EmptyLabel,
    /// A group hint is not `group:role` or `group:role:scope`.
    #[error("group hint {0:?} is not \"group:role\" or \"group:role:device|node\"")]
    BadGroupHint(String),
    /// A rate is zero.
    #[error("field {field:?} has an invalid rate")]
    Rate {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        source: RationalError,
    },
    /// The picture geometry is impossible for the format.
    #[error("impossible geometry: {0}")]
    Geometry(String),
    /// An audio parameter is out of range.
    #[error("impossible audio format: {0}")]
    Audio(String),
    /// The grain capacity is out of range.
    #[error("max_grain_bytes {0} is not in 1..={MAX_GRAIN_BYTES}")]
    GrainBytes(u32),
}

/// How a flow maps onto the MXL ring files. Internal: derived, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Geometry {
    Discrete {
        format_code: u32,
        /// The rate at which grains are written (field rate when interlaced).
        rate: Rational,
        slice_sizes: [u32; 4],
        total_slices: u16,
        grain_size: u32,
        /// Grains carry their used length and timestamp in the extension header.
        variable: bool,
    },
    Continuous {
        rate: Rational,
        channels: u32,
        word_size: u32,
    },
}

impl FlowDescriptor {
    /// Makes and validates a descriptor with one group hint derived from the label.
    pub fn new(id: Uuid, label: &str, format: FlowFormat) -> Result<Self, DescriptorError> {
        let group = label.replace(':', " ");
        let role = match &format {
            FlowFormat::Video(_) => "Video",
            FlowFormat::Audio(_) => "Audio",
            FlowFormat::Data(_) => "Data",
            FlowFormat::Mux(_) => "Mux",
        };
        let d = FlowDescriptor {
            id,
            label: label.to_owned(),
            description: label.to_owned(),
            group_hints: vec![format!("{group}:{role}")],
            format,
        };
        d.validate()?;
        Ok(d)
    }

    /// Parses and validates NMOS flow JSON (a `flow_def.json`).
    pub fn from_json(text: &str) -> Result<Self, DescriptorError> {
        let raw: NmosFlow = serde_json::from_str(text).map_err(DescriptorError::Json)?;
        FlowDescriptor::try_from(raw)
    }

    /// Serialises to NMOS flow JSON, as stored in `flow_def.json`.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings, numbers and maps cannot fail.
        serde_json::to_string_pretty(&NmosFlow::from(self.clone())).unwrap_or_default()
    }

    /// The flow's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The flow's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The flow's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The NMOS group hints (`group:role`).
    pub fn group_hints(&self) -> &[String] {
        &self.group_hints
    }

    /// What the flow carries.
    pub fn format(&self) -> &FlowFormat {
        &self.format
    }

    /// The rate at which grains (or samples) are indexed.
    pub fn grain_rate(&self) -> Rational {
        match self.geometry() {
            Geometry::Discrete { rate, .. } | Geometry::Continuous { rate, .. } => rate,
        }
    }

    /// Whether the flow is continuous (audio) rather than discrete.
    pub fn is_continuous(&self) -> bool {
        matches!(self.format, FlowFormat::Audio(_))
    }

    /// Whether stock libmxl can open this flow; extension flows it refuses.
    pub fn is_mxl_standard(&self) -> bool {
        match self.geometry() {
            Geometry::Discrete { format_code, .. } => format_code != format_code::STAGEBOX_EXT,
            Geometry::Continuous { .. } => true,
        }
    }

    fn validate(&self) -> Result<(), DescriptorError> {
        if self.label.trim().is_empty() {
            return Err(DescriptorError::EmptyLabel);
        }
        if self.group_hints.is_empty() {
            return Err(DescriptorError::MissingField("tags.urn:x-nmos:tag:grouphint/v1.0"));
        }
        for hint in &self.group_hints {
            let parts: Vec<&str> = hint.split(':').collect();
            let scope_ok = parts.len() == 2 || (parts.len() == 3 && matches!(parts[2], "device" | "node"));
            if !scope_ok || parts[..2].iter().any(|p| p.is_empty()) {
                return Err(DescriptorError::BadGroupHint(hint.clone()));
            }
        }
        match &self.format {
            FlowFormat::Video(v) => validate_video(v),
            FlowFormat::Audio(a) => validate_audio(a),
            FlowFormat::Data(d) => match d.kind {
                DataKind::Smpte291 => Ok(()),
                DataKind::CcData | DataKind::Scte35 => validate_grain_bytes(d.max_grain_bytes),
            },
            FlowFormat::Mux(m) => validate_grain_bytes(m.max_grain_bytes),
        }
    }

    /// The ring layout for this flow. Valid descriptors always have one.
    pub(crate) fn geometry(&self) -> Geometry {
        match &self.format {
            FlowFormat::Video(v) => video_geometry(v),
            FlowFormat::Audio(a) => Geometry::Continuous {
                rate: a.sample_rate,
                channels: a.channels,
                word_size: match a.sample {
                    SampleFormat::F32 => 4,
                    SampleFormat::F64 => 8,
                },
            },
            FlowFormat::Data(d) => match d.kind {
                DataKind::Smpte291 => Geometry::Discrete {
                    format_code: format_code::DATA,
                    rate: d.rate,
                    slice_sizes: [1, 0, 0, 0],
                    total_slices: 4096,
                    grain_size: 4096,
                    variable: false,
                },
                DataKind::CcData | DataKind::Scte35 => variable_geometry(d.rate, d.max_grain_bytes),
            },
            FlowFormat::Mux(m) => variable_geometry(m.rate, m.max_grain_bytes),
        }
    }
}

fn validate_grain_bytes(n: u32) -> Result<(), DescriptorError> {
    if n == 0 || n > MAX_GRAIN_BYTES {
        return Err(DescriptorError::GrainBytes(n));
    }
    Ok(())
}

fn validate_video(v: &VideoFormat) -> Result<(), DescriptorError> {
    let geometry = |msg: String| Err(DescriptorError::Geometry(msg));
    if !(2..=MAX_WIDTH).contains(&v.width) {
        return geometry(format!("width {} is not in 2..={MAX_WIDTH}", v.width));
    }
    if !(1..=MAX_HEIGHT).contains(&v.height) {
        return geometry(format!("height {} is not in 1..={MAX_HEIGHT}", v.height));
    }
    if v.coding == VideoCoding::Uyvy && !v.width.is_multiple_of(2) {
        return geometry(format!("4:2:2 width {} must be even", v.width));
    }
    if v.interlace != Interlace::Progressive {
        if !v.height.is_multiple_of(2) {
            return geometry(format!("interlaced height {} must be even", v.height));
        }
        let ntsc = Rational::new(30000, 1001).ok();
        let pal = Rational::new(25, 1).ok();
        if Some(v.rate) != ntsc && Some(v.rate) != pal {
            return geometry(format!("interlaced video must be 30000/1001 or 25/1, not {}", v.rate));
        }
    }
    if matches!(v.coding, VideoCoding::H264 | VideoCoding::H265) {
        validate_grain_bytes(v.max_grain_bytes.ok_or(DescriptorError::MissingField("max_grain_bytes"))?)?;
    }
    Ok(())
}

fn validate_audio(a: &AudioFormat) -> Result<(), DescriptorError> {
    if a.channels == 0 || a.channels > MAX_CHANNELS {
        return Err(DescriptorError::Audio(format!("channel_count {} is not in 1..={MAX_CHANNELS}", a.channels)));
    }
    if a.sample_rate.as_f64() > MAX_SAMPLE_RATE as f64 || a.sample_rate.denominator() != 1 {
        return Err(DescriptorError::Audio(format!(
            "sample rate {} must be a whole number up to {MAX_SAMPLE_RATE}",
            a.sample_rate
        )));
    }
    Ok(())
}

fn video_geometry(v: &VideoFormat) -> Geometry {
    let interlaced = v.interlace != Interlace::Progressive;
    let lines = if interlaced { v.height / 2 } else { v.height };
    // Validated: the rate is 25 or 30000/1001, so doubling cannot overflow.
    let rate = if interlaced { v.rate.times(2).unwrap_or(v.rate) } else { v.rate };
    let v210_line = v.width.div_ceil(48) * 128;
    let (format_code, slice_sizes) = match v.coding {
        VideoCoding::V210 => (format_code::VIDEO, [v210_line, 0, 0, 0]),
        VideoCoding::V210a => (format_code::VIDEO, [v210_line, v.width.div_ceil(3) * 4, 0, 0]),
        VideoCoding::Uyvy => (format_code::STAGEBOX_EXT, [v.width * 2, 0, 0, 0]),
        VideoCoding::Rgba => (format_code::STAGEBOX_EXT, [v.width * 4, 0, 0, 0]),
        VideoCoding::H264 | VideoCoding::H265 => {
            return variable_geometry(rate, v.max_grain_bytes.unwrap_or(MAX_GRAIN_BYTES));
        }
    };
    let line_bytes: u32 = slice_sizes.iter().sum();
    Geometry::Discrete {
        format_code,
        rate,
        slice_sizes,
        // Validated: lines <= 4320.
        total_slices: u16::try_from(lines).unwrap_or(u16::MAX),
        grain_size: line_bytes * lines,
        variable: false,
    }
}

fn variable_geometry(rate: Rational, max_grain_bytes: u32) -> Geometry {
    Geometry::Discrete {
        format_code: format_code::STAGEBOX_EXT,
        rate,
        slice_sizes: [max_grain_bytes, 0, 0, 0],
        total_slices: 1,
        grain_size: max_grain_bytes,
        variable: true,
    }
}

/// The NMOS IS-04 flow JSON, as libmxl reads it.
#[derive(Serialize, Deserialize)]
struct NmosFlow {
    id: Uuid,
    format: String,
    media_type: String,
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grain_rate: Option<Rational>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sample_rate: Option<Rational>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frame_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    frame_height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interlace_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bit_depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_count: Option<u32>,
    /// Stagebox extension: grain capacity of variable-size flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_grain_bytes: Option<u32>,
    #[serde(default)]
    parents: Vec<Uuid>,
}

const VIDEO_URN: &str = "urn:x-nmos:format:video";
const AUDIO_URN: &str = "urn:x-nmos:format:audio";
const DATA_URN: &str = "urn:x-nmos:format:data";
const MUX_URN: &str = "urn:x-nmos:format:mux";

fn rate(field: &'static str, value: Option<Rational>) -> Result<Rational, DescriptorError> {
    value.ok_or(DescriptorError::MissingField(field))
}

impl TryFrom<NmosFlow> for FlowDescriptor {
    type Error = DescriptorError;

    fn try_from(raw: NmosFlow) -> Result<Self, Self::Error> {
        let unsupported =
            || DescriptorError::UnsupportedMediaType { format: raw.format.clone(), media_type: raw.media_type.clone() };
        let format = match raw.format.as_str() {
            VIDEO_URN => {
                let coding = match raw.media_type.as_str() {
                    "video/v210" => VideoCoding::V210,
                    "video/v210a" => VideoCoding::V210a,
                    "video/UYVY" => VideoCoding::Uyvy,
                    "video/x-stagebox-rgba" => VideoCoding::Rgba,
                    "video/H264" => VideoCoding::H264,
                    "video/H265" => VideoCoding::H265,
                    _ => return Err(unsupported()),
                };
                let interlace = match raw.interlace_mode.as_deref() {
                    None | Some("progressive") => Interlace::Progressive,
                    Some("interlaced_tff") => Interlace::TopFieldFirst,
                    Some("interlaced_bff") => Interlace::BottomFieldFirst,
                    Some(other) => {
                        return Err(DescriptorError::Geometry(format!("unknown interlace_mode {other:?}")));
                    }
                };
                FlowFormat::Video(VideoFormat {
                    coding,
                    width: raw.frame_width.ok_or(DescriptorError::MissingField("frame_width"))?,
                    height: raw.frame_height.ok_or(DescriptorError::MissingField("frame_height"))?,
                    rate: rate("grain_rate", raw.grain_rate)?,
                    interlace,
                    max_grain_bytes: raw.max_grain_bytes,
                })
            }
            AUDIO_URN => {
                let sample = match raw.bit_depth {
                    Some(32) => SampleFormat::F32,
                    Some(64) => SampleFormat::F64,
                    Some(other) => {
                        return Err(DescriptorError::Audio(format!("bit_depth {other} is not 32 or 64")));
                    }
                    None => return Err(DescriptorError::MissingField("bit_depth")),
                };
                FlowFormat::Audio(AudioFormat {
                    sample_rate: rate("sample_rate", raw.sample_rate)?,
                    channels: raw.channel_count.unwrap_or(1),
                    sample,
                })
            }
            DATA_URN => {
                let kind = match raw.media_type.as_str() {
                    "video/smpte291" => DataKind::Smpte291,
                    "application/x-cc-data" => DataKind::CcData,
                    "application/x-scte35" => DataKind::Scte35,
                    _ => return Err(unsupported()),
                };
                let max_grain_bytes = match kind {
                    DataKind::Smpte291 => 4096,
                    _ => raw.max_grain_bytes.ok_or(DescriptorError::MissingField("max_grain_bytes"))?,
                };
                FlowFormat::Data(DataFormat { kind, rate: rate("grain_rate", raw.grain_rate)?, max_grain_bytes })
            }
            MUX_URN => {
                if raw.media_type != "video/MP2T" {
                    return Err(unsupported());
                }
                FlowFormat::Mux(MuxFormat {
                    kind: MuxKind::MpegTs,
                    rate: rate("grain_rate", raw.grain_rate)?,
                    max_grain_bytes: raw.max_grain_bytes.ok_or(DescriptorError::MissingField("max_grain_bytes"))?,
                })
            }
            other => return Err(DescriptorError::UnknownFormat(other.to_owned())),
        };
        let group_hints = raw.tags.get(GROUP_HINT_TAG).cloned().unwrap_or_default();
        let d = FlowDescriptor {
            id: raw.id,
            description: if raw.description.is_empty() { raw.label.clone() } else { raw.description },
            label: raw.label,
            group_hints,
            format,
        };
        d.validate()?;
        Ok(d)
    }
}

impl From<FlowDescriptor> for NmosFlow {
    fn from(d: FlowDescriptor) -> Self {
        let mut raw = NmosFlow {
            id: d.id,
            format: String::new(),
            media_type: String::new(),
            label: d.label,
            description: d.description,
            tags: BTreeMap::from([(GROUP_HINT_TAG.to_owned(), d.group_hints)]),
            grain_rate: None,
            sample_rate: None,
            frame_width: None,
            frame_height: None,
            interlace_mode: None,
            bit_depth: None,
            channel_count: None,
            max_grain_bytes: None,
            parents: Vec::new(),
        };
        let (format, media_type) = match d.format {
            FlowFormat::Video(v) => {
                raw.grain_rate = Some(v.rate);
                raw.frame_width = Some(v.width);
                raw.frame_height = Some(v.height);
                raw.interlace_mode = Some(
                    match v.interlace {
                        Interlace::Progressive => "progressive",
                        Interlace::TopFieldFirst => "interlaced_tff",
                        Interlace::BottomFieldFirst => "interlaced_bff",
                    }
                    .to_owned(),
                );
                raw.max_grain_bytes = v.max_grain_bytes;
                let media_type = match v.coding {
                    VideoCoding::V210 => "video/v210",
                    VideoCoding::V210a => "video/v210a",
                    VideoCoding::Uyvy => "video/UYVY",
                    VideoCoding::Rgba => "video/x-stagebox-rgba",
                    VideoCoding::H264 => "video/H264",
                    VideoCoding::H265 => "video/H265",
                };
                (VIDEO_URN, media_type)
            }
            FlowFormat::Audio(a) => {
                raw.sample_rate = Some(a.sample_rate);
                raw.channel_count = Some(a.channels);
                let (bits, media_type) = match a.sample {
                    SampleFormat::F32 => (32, "audio/float32"),
                    SampleFormat::F64 => (64, "audio/float64"),
                };
                raw.bit_depth = Some(bits);
                (AUDIO_URN, media_type)
            }
            FlowFormat::Data(x) => {
                raw.grain_rate = Some(x.rate);
                let media_type = match x.kind {
                    DataKind::Smpte291 => "video/smpte291",
                    DataKind::CcData => "application/x-cc-data",
                    DataKind::Scte35 => "application/x-scte35",
                };
                if x.kind != DataKind::Smpte291 {
                    raw.max_grain_bytes = Some(x.max_grain_bytes);
                }
                (DATA_URN, media_type)
            }
            FlowFormat::Mux(m) => {
                raw.grain_rate = Some(m.rate);
                raw.max_grain_bytes = Some(m.max_grain_bytes);
                (MUX_URN, "video/MP2T")
            }
        };
        raw.format = format.to_owned();
        raw.media_type = media_type.to_owned();
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimal valid definition from MXL-LAYOUT.md §9.
    const MXL_EXAMPLE: &str = r#"{"id":"0f4d7c2e-8a61-4b9e-9c35-2d7e1a6b5c40","format":"urn:x-nmos:format:video",
 "media_type":"video/v210","label":"Cam 1 out","description":"Cam 1 out",
 "tags":{"urn:x-nmos:tag:grouphint/v1.0":["Cam 1:Video"]},
 "grain_rate":{"numerator":50,"denominator":1},
 "frame_width":1920,"frame_height":1080,"interlace_mode":"progressive","parents":[]}"#;

    fn r(n: u64, d: u64) -> Rational {
        Rational::new(n, d).unwrap()
    }

    #[test]
    fn parses_the_mxl_example_and_lays_out_1080p_v210() {
        let d = FlowDescriptor::from_json(MXL_EXAMPLE).unwrap();
        assert_eq!(d.label(), "Cam 1 out");
        assert!(d.is_mxl_standard());
        match d.geometry() {
            Geometry::Discrete { format_code, slice_sizes, total_slices, grain_size, variable, .. } => {
                assert_eq!(format_code, 1);
                assert_eq!(slice_sizes, [5120, 0, 0, 0]);
                assert_eq!(total_slices, 1080);
                assert_eq!(grain_size, 5_529_600);
                assert!(!variable);
            }
            other => panic!("unexpected geometry {other:?}"),
        }
        assert_eq!(FlowDescriptor::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn v210a_and_interlace_follow_mxl() {
        let mut v = VideoFormat::progressive(VideoCoding::V210a, 1920, 1080, r(25, 1));
        v.interlace = Interlace::TopFieldFirst;
        let d = FlowDescriptor::new(Uuid::new_v4(), "Key", FlowFormat::Video(v)).unwrap();
        match d.geometry() {
            Geometry::Discrete { rate, slice_sizes, total_slices, grain_size, .. } => {
                assert_eq!(rate, r(50, 1), "a field is a grain at double rate");
                assert_eq!(slice_sizes, [5120, 2560, 0, 0]);
                assert_eq!(total_slices, 540);
                assert_eq!(grain_size, (5120 + 2560) * 540);
            }
            other => panic!("unexpected geometry {other:?}"),
        }
    }

    #[test]
    fn impossible_geometry_is_a_typed_error() {
        let bad = [
            VideoFormat::progressive(VideoCoding::V210, 1, 1080, r(50, 1)),
            VideoFormat::progressive(VideoCoding::V210, 7681, 1080, r(50, 1)),
            VideoFormat::progressive(VideoCoding::V210, 1920, 0, r(50, 1)),
            VideoFormat::progressive(VideoCoding::V210, 1920, 4321, r(50, 1)),
            VideoFormat::progressive(VideoCoding::Uyvy, 1919, 1080, r(50, 1)),
            VideoFormat {
                interlace: Interlace::TopFieldFirst,
                ..VideoFormat::progressive(VideoCoding::V210, 1920, 1080, r(50, 1))
            },
            VideoFormat {
                interlace: Interlace::BottomFieldFirst,
                ..VideoFormat::progressive(VideoCoding::V210, 1920, 1079, r(25, 1))
            },
        ];
        for v in bad {
            let err = FlowDescriptor::new(Uuid::new_v4(), "x", FlowFormat::Video(v)).unwrap_err();
            assert!(matches!(err, DescriptorError::Geometry(_)), "{v:?} gave {err:?}");
        }
        let h264 = VideoFormat::progressive(VideoCoding::H264, 1920, 1080, r(50, 1));
        assert!(matches!(
            FlowDescriptor::new(Uuid::new_v4(), "x", FlowFormat::Video(h264)),
            Err(DescriptorError::MissingField("max_grain_bytes"))
        ));
    }

    #[test]
    fn bad_json_gives_clear_errors() {
        type Expect = fn(&DescriptorError) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("not json", |e| matches!(e, DescriptorError::Json(_))),
            (&MXL_EXAMPLE.replace("urn:x-nmos:format:video", "urn:x-nmos:format:smell"), |e| {
                matches!(e, DescriptorError::UnknownFormat(_))
            }),
            (&MXL_EXAMPLE.replace("video/v210", "video/jpeg"), |e| {
                matches!(e, DescriptorError::UnsupportedMediaType { .. })
            }),
            (&MXL_EXAMPLE.replace("\"Cam 1 out\",\"desc", "\"\",\"desc"), |e| matches!(e, DescriptorError::EmptyLabel)),
            (&MXL_EXAMPLE.replace("\"Cam 1:Video\"", "\"nocolon\""), |e| matches!(e, DescriptorError::BadGroupHint(_))),
            (&MXL_EXAMPLE.replace("\"numerator\":50", "\"numerator\":0"), |e| matches!(e, DescriptorError::Json(_))),
            (&MXL_EXAMPLE.replace("\"frame_width\":1920,", ""), |e| {
                matches!(e, DescriptorError::MissingField("frame_width"))
            }),
        ];
        for (text, expected) in cases {
            let err = FlowDescriptor::from_json(text).unwrap_err();
            assert!(expected(&err), "{text} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn every_kind_round_trips_through_json() {
        let formats = [
            FlowFormat::Audio(AudioFormat { sample_rate: r(48000, 1), channels: 8, sample: SampleFormat::F32 }),
            FlowFormat::Audio(AudioFormat { sample_rate: r(96000, 1), channels: 2, sample: SampleFormat::F64 }),
            FlowFormat::Data(DataFormat { kind: DataKind::Smpte291, rate: r(50, 1), max_grain_bytes: 4096 }),
            FlowFormat::Data(DataFormat { kind: DataKind::CcData, rate: r(30000, 1001), max_grain_bytes: 96 }),
            FlowFormat::Data(DataFormat { kind: DataKind::Scte35, rate: r(50, 1), max_grain_bytes: 4096 }),
            FlowFormat::Mux(MuxFormat { kind: MuxKind::MpegTs, rate: r(1000, 1), max_grain_bytes: 7 * 188 }),
            FlowFormat::Video(VideoFormat {
                max_grain_bytes: Some(4 << 20),
                ..VideoFormat::progressive(VideoCoding::H265, 3840, 2160, r(50, 1))
            }),
            FlowFormat::Video(VideoFormat::progressive(VideoCoding::Rgba, 1280, 720, r(60, 1))),
        ];
        for f in formats {
            let d = FlowDescriptor::new(Uuid::new_v4(), "round trip", f.clone()).unwrap();
            let back = FlowDescriptor::from_json(&d.to_json()).unwrap();
            assert_eq!(back, d);
            assert_eq!(
                d.is_mxl_standard(),
                matches!(f, FlowFormat::Audio(_) | FlowFormat::Data(DataFormat { kind: DataKind::Smpte291, .. }))
            );
        }
    }

    #[test]
    fn audio_limits() {
        let a = |channels, rate| {
            FlowDescriptor::new(
                Uuid::new_v4(),
                "a",
                FlowFormat::Audio(AudioFormat { sample_rate: rate, channels, sample: SampleFormat::F32 }),
            )
        };
        assert!(a(0, r(48000, 1)).is_err());
        assert!(a(257, r(48000, 1)).is_err());
        assert!(a(2, r(48000, 1001)).is_err());
        assert!(a(2, r(48000, 1)).is_ok());
    }
}
