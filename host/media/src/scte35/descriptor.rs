//! Splice descriptors (SCTE 35 2023 §10).

use super::Scte35Error;
use super::bits::{BitReader, BitWriter, check_width};
use super::text::{Text, hex_bytes};
use super::upid::Upid;
use serde::{Deserialize, Serialize};

/// The identifier of the descriptors SCTE 35 defines: "CUEI".
pub const CUEI: u32 = 0x4355_4549;

/// A splice descriptor. Those with a tag this standard defines and the
/// "CUEI" identifier are typed; others are [`SpliceDescriptor::Private`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "descriptor", rename_all = "snake_case", deny_unknown_fields)]
pub enum SpliceDescriptor {
    /// Tag 0x00: avail_descriptor.
    Avail {
        /// The provider's avail id.
        provider_avail_id: u32,
    },
    /// Tag 0x01: DTMF_descriptor.
    Dtmf {
        /// Tenths of a second before the splice to send the tones.
        preroll: u8,
        /// The DTMF characters (at most 7).
        dtmf_chars: Text,
    },
    /// Tag 0x02: segmentation_descriptor.
    Segmentation(SegmentationDescriptor),
    /// Tag 0x03: time_descriptor (PTP time of the cue).
    Time {
        /// TAI seconds, 48 bits.
        tai_seconds: u64,
        /// TAI nanoseconds.
        tai_ns: u32,
        /// UTC − TAI offset in seconds.
        utc_offset: u16,
    },
    /// Tag 0x04: audio_descriptor.
    Audio {
        /// The audio components (at most 15).
        components: Vec<AudioComponent>,
    },
    /// Any other tag or identifier, kept as bytes.
    Private {
        /// splice_descriptor_tag.
        tag: u8,
        /// The 32-bit identifier.
        identifier: u32,
        /// The bytes after the identifier.
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
}

/// segmentation_descriptor().
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationDescriptor {
    /// Identifies the segmentation event.
    pub segmentation_event_id: u32,
    /// The event is cancelled.
    pub segmentation_event_cancel_indicator: bool,
    /// The event id follows the standard's rules.
    pub segmentation_event_id_compliance_indicator: bool,
    /// The event, unless cancelled.
    pub event: Option<SegmentationEvent>,
}

/// The body of a segmentation descriptor that is not a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationEvent {
    /// The whole programme is segmented; when clear, components are.
    pub program_segmentation_flag: bool,
    /// Restrictions; `None` when delivery_not_restricted_flag is set.
    pub delivery_restrictions: Option<DeliveryRestrictions>,
    /// Present exactly when program_segmentation_flag is clear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<SegmentationComponent>,
    /// 90 kHz ticks, 40 bits, when segmentation_duration_flag is set.
    pub segmentation_duration: Option<u64>,
    /// The UPID.
    pub segmentation_upid: Upid,
    /// segmentation_type_id (table 23), e.g. 0x34 provider placement
    /// opportunity start.
    pub segmentation_type_id: u8,
    /// Which segment this is.
    pub segment_num: u8,
    /// How many segments there are.
    pub segments_expected: u8,
    /// sub_segment_num and sub_segments_expected, when the descriptor
    /// carries them (types 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46
    /// in SCTE 35 2023; older encoders omit them).
    pub sub_segment: Option<SubSegment>,
}

/// Delivery restriction flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRestrictions {
    /// May be delivered over the web.
    pub web_delivery_allowed_flag: bool,
    /// No regional blackout applies.
    pub no_regional_blackout_flag: bool,
    /// May be archived.
    pub archive_allowed_flag: bool,
    /// device_restrictions (table 21), 2 bits.
    pub device_restrictions: u8,
}

/// A component of a component-mode segmentation descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentationComponent {
    /// The elementary stream's component tag.
    pub component_tag: u8,
    /// Offset from the command's splice time, 90 kHz ticks, 33 bits.
    pub pts_offset: u64,
}

/// sub_segment_num and sub_segments_expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubSegment {
    /// Which sub-segment this is.
    pub sub_segment_num: u8,
    /// How many sub-segments there are.
    pub sub_segments_expected: u8,
}

/// One component of an audio_descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioComponent {
    /// The elementary stream's component tag.
    pub component_tag: u8,
    /// ISO 639-2 language code, 3 bytes.
    pub iso_code: Text,
    /// Bit_Stream_Mode (A/52), 3 bits.
    pub bit_stream_mode: u8,
    /// Num_Channels (A/52), 4 bits.
    pub num_channels: u8,
    /// Full_Srvc_Audio.
    pub full_srvc_audio: bool,
}

impl SpliceDescriptor {
    /// splice_descriptor_tag.
    pub fn tag(&self) -> u8 {
        match self {
            SpliceDescriptor::Avail { .. } => 0x00,
            SpliceDescriptor::Dtmf { .. } => 0x01,
            SpliceDescriptor::Segmentation(_) => 0x02,
            SpliceDescriptor::Time { .. } => 0x03,
            SpliceDescriptor::Audio { .. } => 0x04,
            SpliceDescriptor::Private { tag, .. } => *tag,
        }
    }

    /// Reads the descriptor loop, which fills `bytes` exactly.
    pub(crate) fn read_loop(bytes: &[u8]) -> Result<Vec<SpliceDescriptor>, Scte35Error> {
        let mut r = BitReader::new(bytes);
        let mut out = Vec::new();
        while r.remaining_bytes() > 0 {
            let tag = r.u8("splice_descriptor_tag")?;
            let len = usize::from(r.u8("descriptor_length")?);
            let body = r.bytes(len, "splice_descriptor")?;
            out.push(SpliceDescriptor::read(tag, body)?);
        }
        Ok(out)
    }

    /// Reads one descriptor from its body (identifier onwards).
    fn read(tag: u8, body: &[u8]) -> Result<SpliceDescriptor, Scte35Error> {
        let mut r = BitReader::new(body);
        let identifier = r.u32("descriptor identifier")?;
        let private = |r: &mut BitReader<'_>| SpliceDescriptor::Private { tag, identifier, bytes: r.rest().to_vec() };
        if identifier != CUEI {
            return Ok(private(&mut r));
        }
        let d = match tag {
            0x00 => SpliceDescriptor::Avail { provider_avail_id: r.u32("provider_avail_id")? },
            0x01 => {
                let preroll = r.u8("preroll")?;
                let count = r.bits(3, "dtmf_count")? as usize;
                r.skip(5, "DTMF reserved")?;
                SpliceDescriptor::Dtmf { preroll, dtmf_chars: Text(r.bytes(count, "DTMF_char")?.to_vec()) }
            }
            0x02 => SpliceDescriptor::Segmentation(read_segmentation(&mut r)?),
            0x03 => SpliceDescriptor::Time {
                tai_seconds: r.bits(48, "TAI_seconds")?,
                tai_ns: r.u32("TAI_ns")?,
                utc_offset: r.u16("UTC_offset")?,
            },
            0x04 => {
                let count = r.bits(4, "audio_count")?;
                r.skip(4, "audio_descriptor reserved")?;
                let mut components = Vec::new();
                for _ in 0..count {
                    components.push(AudioComponent {
                        component_tag: r.u8("component_tag")?,
                        iso_code: Text(r.bytes(3, "ISO_code")?.to_vec()),
                        bit_stream_mode: r.bits(3, "Bit_Stream_Mode")? as u8,
                        num_channels: r.bits(4, "Num_Channels")? as u8,
                        full_srvc_audio: r.flag("Full_Srvc_Audio")?,
                    });
                }
                SpliceDescriptor::Audio { components }
            }
            _ => return Ok(private(&mut r)),
        };
        if r.remaining_bytes() != 0 {
            return Err(Scte35Error::Length {
                field: "descriptor_length",
                declared: body.len(),
                actual: body.len() - r.remaining_bytes(),
            });
        }
        Ok(d)
    }

    /// Writes tag, length, identifier and body.
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<(), Scte35Error> {
        w.bits(8, u64::from(self.tag()));
        let len_at = w.len();
        w.bits(8, 0);
        let start = w.len();
        match self {
            SpliceDescriptor::Private { identifier, bytes, .. } => {
                w.bits(32, u64::from(*identifier));
                w.bytes(bytes);
            }
            _ => w.bits(32, u64::from(CUEI)),
        }
        match self {
            SpliceDescriptor::Private { .. } => {}
            SpliceDescriptor::Avail { provider_avail_id } => w.bits(32, u64::from(*provider_avail_id)),
            SpliceDescriptor::Dtmf { preroll, dtmf_chars } => {
                check_width(dtmf_chars.0.len() as u64, 3, "dtmf_count")?;
                w.bits(8, u64::from(*preroll));
                w.bits(3, dtmf_chars.0.len() as u64);
                w.reserved(5);
                w.bytes(&dtmf_chars.0);
            }
            SpliceDescriptor::Segmentation(s) => write_segmentation(w, s)?,
            SpliceDescriptor::Time { tai_seconds, tai_ns, utc_offset } => {
                check_width(*tai_seconds, 48, "TAI_seconds")?;
                w.bits(48, *tai_seconds);
                w.bits(32, u64::from(*tai_ns));
                w.bits(16, u64::from(*utc_offset));
            }
            SpliceDescriptor::Audio { components } => {
                check_width(components.len() as u64, 4, "audio_count")?;
                w.bits(4, components.len() as u64);
                w.reserved(4);
                for c in components {
                    if c.iso_code.0.len() != 3 {
                        return Err(Scte35Error::Length { field: "ISO_code", declared: 3, actual: c.iso_code.0.len() });
                    }
                    check_width(u64::from(c.bit_stream_mode), 3, "Bit_Stream_Mode")?;
                    check_width(u64::from(c.num_channels), 4, "Num_Channels")?;
                    w.bits(8, u64::from(c.component_tag));
                    w.bytes(&c.iso_code.0);
                    w.bits(3, u64::from(c.bit_stream_mode));
                    w.bits(4, u64::from(c.num_channels));
                    w.flag(c.full_srvc_audio);
                }
            }
        }
        let len = w.len() - start;
        let len = u8::try_from(len).map_err(|_| Scte35Error::OutOfRange {
            field: "descriptor_length",
            value: len as u64,
            bits: 8,
        })?;
        w.patch_u8(len_at, len);
        Ok(())
    }
}

fn read_segmentation(r: &mut BitReader<'_>) -> Result<SegmentationDescriptor, Scte35Error> {
    let segmentation_event_id = r.u32("segmentation_event_id")?;
    let cancel = r.flag("segmentation_event_cancel_indicator")?;
    let compliance = r.flag("segmentation_event_id_compliance_indicator")?;
    r.skip(6, "segmentation_descriptor reserved")?;
    let mut d = SegmentationDescriptor {
        segmentation_event_id,
        segmentation_event_cancel_indicator: cancel,
        segmentation_event_id_compliance_indicator: compliance,
        event: None,
    };
    if cancel {
        return Ok(d);
    }
    let program_segmentation_flag = r.flag("program_segmentation_flag")?;
    let duration_flag = r.flag("segmentation_duration_flag")?;
    let delivery_restrictions = if r.flag("delivery_not_restricted_flag")? {
        r.skip(5, "segmentation_descriptor reserved")?;
        None
    } else {
        Some(DeliveryRestrictions {
            web_delivery_allowed_flag: r.flag("web_delivery_allowed_flag")?,
            no_regional_blackout_flag: r.flag("no_regional_blackout_flag")?,
            archive_allowed_flag: r.flag("archive_allowed_flag")?,
            device_restrictions: r.bits(2, "device_restrictions")? as u8,
        })
    };
    let mut components = Vec::new();
    if !program_segmentation_flag {
        for _ in 0..r.u8("component_count")? {
            let component_tag = r.u8("component_tag")?;
            r.skip(7, "component reserved")?;
            components.push(SegmentationComponent { component_tag, pts_offset: r.bits(33, "pts_offset")? });
        }
    }
    let segmentation_duration = if duration_flag { Some(r.bits(40, "segmentation_duration")?) } else { None };
    let segmentation_upid = Upid::read(r)?;
    let segmentation_type_id = r.u8("segmentation_type_id")?;
    let segment_num = r.u8("segment_num")?;
    let segments_expected = r.u8("segments_expected")?;
    // Present for some types since SCTE 35 2016; older encoders leave them
    // out, so the descriptor's length decides.
    let sub_segment = if r.remaining_bytes() >= 2 {
        Some(SubSegment {
            sub_segment_num: r.u8("sub_segment_num")?,
            sub_segments_expected: r.u8("sub_segments_expected")?,
        })
    } else {
        None
    };
    d.event = Some(SegmentationEvent {
        program_segmentation_flag,
        delivery_restrictions,
        components,
        segmentation_duration,
        segmentation_upid,
        segmentation_type_id,
        segment_num,
        segments_expected,
        sub_segment,
    });
    Ok(d)
}

fn write_segmentation(w: &mut BitWriter, d: &SegmentationDescriptor) -> Result<(), Scte35Error> {
    w.bits(32, u64::from(d.segmentation_event_id));
    w.flag(d.segmentation_event_cancel_indicator);
    w.flag(d.segmentation_event_id_compliance_indicator);
    w.reserved(6);
    let e = match (&d.event, d.segmentation_event_cancel_indicator) {
        (None, true) => return Ok(()),
        (Some(e), false) => e,
        _ => {
            return Err(Scte35Error::Inconsistent {
                field: "segmentation_descriptor",
                reason: "a body is carried exactly when the event is not cancelled",
            });
        }
    };
    if e.program_segmentation_flag && !e.components.is_empty() {
        return Err(Scte35Error::Inconsistent { field: "components", reason: "program_segmentation_flag is set" });
    }
    w.flag(e.program_segmentation_flag);
    w.flag(e.segmentation_duration.is_some());
    match &e.delivery_restrictions {
        None => {
            w.flag(true);
            w.reserved(5);
        }
        Some(r) => {
            check_width(u64::from(r.device_restrictions), 2, "device_restrictions")?;
            w.flag(false);
            w.flag(r.web_delivery_allowed_flag);
            w.flag(r.no_regional_blackout_flag);
            w.flag(r.archive_allowed_flag);
            w.bits(2, u64::from(r.device_restrictions));
        }
    }
    if !e.program_segmentation_flag {
        check_width(e.components.len() as u64, 8, "component_count")?;
        w.bits(8, e.components.len() as u64);
        for c in &e.components {
            check_width(c.pts_offset, 33, "pts_offset")?;
            w.bits(8, u64::from(c.component_tag));
            w.reserved(7);
            w.bits(33, c.pts_offset);
        }
    }
    if let Some(duration) = e.segmentation_duration {
        check_width(duration, 40, "segmentation_duration")?;
        w.bits(40, duration);
    }
    e.segmentation_upid.write(w)?;
    w.bits(8, u64::from(e.segmentation_type_id));
    w.bits(8, u64::from(e.segment_num));
    w.bits(8, u64::from(e.segments_expected));
    if let Some(s) = &e.sub_segment {
        w.bits(8, u64::from(s.sub_segment_num));
        w.bits(8, u64::from(s.sub_segments_expected));
    }
    Ok(())
}
