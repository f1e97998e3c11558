//! The cue policy: what to do with each section, and how it shows in HLS
//! and DASH manifests. This is the logic of the bundled `scte35-policy`
//! plugin (`guests/scte35`); it lives here so the host can fuzz, test and
//! benchmark it natively.

use super::descriptor::SpliceDescriptor;
use super::section::SpliceInfoSection;
use super::text::{base64, hex};
use super::{Scte35Error, SpliceCommand};
use serde::{Deserialize, Serialize};

/// TAI − UTC in seconds since 2017-01-01 (no leap second since).
pub const TAI_UTC_OFFSET_S: i64 = 37;
/// PTS wraps at 2^33 ticks.
const PTS_MODULO: u64 = 1 << 33;

/// The policy's configuration (the plugin's JSON config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Rules tried in order; the first that matches decides.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What happens when no rule matches.
    #[serde(default = "Action::pass")]
    pub default: Action,
    /// HLS dialects to annotate in.
    #[serde(default = "all_dialects")]
    pub hls: Vec<HlsDialect>,
    /// DASH event schemes to annotate in.
    #[serde(default = "all_schemes")]
    pub dash: Vec<DashScheme>,
    /// Timescale of DASH events.
    #[serde(default = "default_timescale")]
    pub dash_timescale: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            rules: Vec::new(),
            default: Action::Pass,
            hls: all_dialects(),
            dash: all_schemes(),
            dash_timescale: default_timescale(),
        }
    }
}

fn all_dialects() -> Vec<HlsDialect> {
    vec![HlsDialect::Daterange, HlsDialect::CueOutIn, HlsDialect::Oatcls]
}
fn all_schemes() -> Vec<DashScheme> {
    vec![DashScheme::Xml2013, DashScheme::XmlBin2014]
}
fn default_timescale() -> u32 {
    90_000
}

/// A rule: a match and an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What the section must look like; every field given must match.
    #[serde(rename = "match", default)]
    pub matches: Match,
    /// What to do with it.
    pub action: Action,
}

/// Conditions on a section. Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// splice_command_type values, e.g. 5 for splice_insert.
    #[serde(default)]
    pub command_types: Vec<u8>,
    /// The section has a segmentation descriptor with one of these
    /// segmentation_type_ids.
    #[serde(default)]
    pub segmentation_type_ids: Vec<u8>,
    /// Encrypted sections (which cannot be read further).
    #[serde(default)]
    pub encrypted: Option<bool>,
}

/// What to do with a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Pass it on, and annotate manifests.
    Pass,
    /// Remove it; no annotations.
    Drop,
    /// Pass it changed, and annotate with the changed section.
    Rewrite(Rewrite),
}

impl Action {
    fn pass() -> Action {
        Action::Pass
    }
}

/// Changes a rewrite makes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    /// Remove descriptors with these tags.
    #[serde(default)]
    pub remove_descriptor_tags: Vec<u8>,
    /// Set pts_adjustment (90 kHz ticks).
    #[serde(default)]
    pub pts_adjustment: Option<u64>,
    /// Set the tier.
    #[serde(default)]
    pub tier: Option<u16>,
}

/// An HLS tag dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HlsDialect {
    /// `#EXT-X-DATERANGE` with SCTE35-OUT/IN/CMD (RFC 8216bis).
    Daterange,
    /// `#EXT-X-CUE-OUT` / `#EXT-X-CUE-IN` (and `-CUE-OUT-CONT` per segment,
    /// see [`cue_out_cont`]).
    CueOutIn,
    /// `#EXT-OATCLS-SCTE35` with the section in base64.
    Oatcls,
}

/// A DASH event scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DashScheme {
    /// `urn:scte:scte35:2013:xml`: the section as SCTE 35 XML.
    #[serde(rename = "urn:scte:scte35:2013:xml")]
    Xml2013,
    /// `urn:scte:scte35:2014:xml+bin`: the section in base64 in a Binary element.
    #[serde(rename = "urn:scte:scte35:2014:xml+bin")]
    XmlBin2014,
}

impl DashScheme {
    /// The scheme's URI.
    pub fn uri(self) -> &'static str {
        match self {
            DashScheme::Xml2013 => "urn:scte:scte35:2013:xml",
            DashScheme::XmlBin2014 => "urn:scte:scte35:2014:xml+bin",
        }
    }
}

/// Where a section was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamContext {
    /// The video PTS at the section, 90 kHz.
    pub pts: u64,
    /// When it arrived, TAI nanoseconds since 1970-01-01 TAI.
    pub wall_clock_tai_ns: u64,
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Pass unchanged.
    Pass,
    /// Remove.
    Drop,
    /// Replace with these bytes.
    Rewrite(Vec<u8>),
}

/// Out of or into the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpliceKind {
    /// Into a break.
    Out,
    /// Back from it.
    In,
}

/// A point segmenters cut at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplicePoint {
    /// PTS (pts_adjustment applied), 90 kHz.
    pub pts: u64,
    /// Which way.
    pub kind: SpliceKind,
    /// Break duration, 90 kHz, when known.
    pub duration: Option<u64>,
    /// splice_event_id or segmentation_event_id.
    pub event_id: u32,
}

/// One HLS line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsTag {
    /// Its dialect.
    pub dialect: HlsDialect,
    /// The playlist line.
    pub line: String,
}

/// One DASH event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashEvent {
    /// The scheme.
    pub scheme: DashScheme,
    /// In `timescale` units, from PTS 0.
    pub presentation_time: u64,
    /// In `timescale` units.
    pub duration: Option<u64>,
    /// Ticks per second.
    pub timescale: u32,
    /// The event id.
    pub id: u32,
    /// The element content.
    pub body: String,
}

/// Everything said about one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What to do with it.
    pub decision: Decision,
    /// HLS lines to put before the segment at the splice point.
    pub hls_tags: Vec<HlsTag>,
    /// DASH events.
    pub dash_events: Vec<DashEvent>,
    /// Where to cut.
    pub splice_points: Vec<SplicePoint>,
}

/// A configured policy.
#[derive(Debug, Clone)]
pub struct Policy {
    config: PolicyConfig,
}

/// segmentation_type_ids that start a break or an ad/placement opportunity.
const OUT_TYPES: [u8; 9] = [0x22, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46];
/// The matching ends.
const IN_TYPES: [u8; 9] = [0x23, 0x31, 0x33, 0x35, 0x37, 0x39, 0x3B, 0x45, 0x47];

impl Policy {
    /// A policy from its JSON configuration (empty text: the defaults).
    pub fn from_json(config: &str) -> Result<Policy, serde_json::Error> {
        let config = if config.trim().is_empty() { PolicyConfig::default() } else { serde_json::from_str(config)? };
        Ok(Policy { config })
    }

    /// Decides about one section.
    pub fn on_section(&self, bytes: &[u8], context: &StreamContext) -> Result<Outcome, Scte35Error> {
        let section = SpliceInfoSection::parse(bytes)?;
        let action = self
            .config
            .rules
            .iter()
            .find(|rule| matches(&rule.matches, &section))
            .map_or(&self.config.default, |rule| &rule.action);
        let (decision, section, bytes) = match action {
            Action::Drop => {
                return Ok(Outcome {
                    decision: Decision::Drop,
                    hls_tags: Vec::new(),
                    dash_events: Vec::new(),
                    splice_points: Vec::new(),
                });
            }
            Action::Pass => (Decision::Pass, section, bytes.to_vec()),
            Action::Rewrite(rewrite) => {
                let section = apply(rewrite, section);
                let bytes = section.to_bytes()?;
                (Decision::Rewrite(bytes.clone()), section, bytes)
            }
        };
        let splice_points = splice_points(&section, context);
        let mut outcome = Outcome { decision, hls_tags: Vec::new(), dash_events: Vec::new(), splice_points };
        self.annotate(&section, &bytes, context, &mut outcome);
        Ok(outcome)
    }

    fn annotate(&self, section: &SpliceInfoSection, bytes: &[u8], ctx: &StreamContext, out: &mut Outcome) {
        let heartbeat =
            matches!(section.command(), Some(SpliceCommand::SpliceNull | SpliceCommand::BandwidthReservation));
        let nothing_asked = self.config.hls.is_empty() && self.config.dash.is_empty();
        if nothing_asked || (heartbeat && section.descriptors().is_empty()) {
            return;
        }
        let b64 = base64(bytes);
        let point = out.splice_points.first().cloned();
        let pts = point.as_ref().map_or(ctx.pts, |p| p.pts);
        let id = point.as_ref().map_or(0, |p| p.event_id);
        for dialect in &self.config.hls {
            let line = match (dialect, &point) {
                (HlsDialect::Daterange, _) => daterange(bytes, point.as_ref(), pts, ctx, id),
                (HlsDialect::CueOutIn, Some(SplicePoint { kind: SpliceKind::Out, duration, .. })) => match duration {
                    Some(d) => format!("#EXT-X-CUE-OUT:DURATION={}", seconds(*d)),
                    None => "#EXT-X-CUE-OUT".to_string(),
                },
                (HlsDialect::CueOutIn, Some(SplicePoint { kind: SpliceKind::In, .. })) => "#EXT-X-CUE-IN".to_string(),
                (HlsDialect::CueOutIn, None) => continue,
                (HlsDialect::Oatcls, _) => format!("#EXT-OATCLS-SCTE35:{b64}"),
            };
            out.hls_tags.push(HlsTag { dialect: *dialect, line });
        }
        let timescale = self.config.dash_timescale;
        for scheme in &self.config.dash {
            let body = match scheme {
                DashScheme::Xml2013 => xml_2013(section),
                DashScheme::XmlBin2014 => {
                    format!("<scte35:Signal><scte35:Binary>{b64}</scte35:Binary></scte35:Signal>")
                }
            };
            out.dash_events.push(DashEvent {
                scheme: *scheme,
                presentation_time: rescale(pts, timescale),
                duration: point.as_ref().and_then(|p| p.duration).map(|d| rescale(d, timescale)),
                timescale,
                id,
                body,
            });
        }
    }
}

fn matches(m: &Match, s: &SpliceInfoSection) -> bool {
    if let Some(encrypted) = m.encrypted
        && encrypted != s.command().is_none()
    {
        return false;
    }
    if !m.command_types.is_empty() && !s.command().is_some_and(|c| m.command_types.contains(&c.command_type())) {
        return false;
    }
    if !m.segmentation_type_ids.is_empty() {
        let any = s.descriptors().iter().any(|d| match d {
            SpliceDescriptor::Segmentation(seg) => {
                seg.event.as_ref().is_some_and(|e| m.segmentation_type_ids.contains(&e.segmentation_type_id))
            }
            _ => false,
        });
        if !any {
            return false;
        }
    }
    true
}

fn apply(rewrite: &Rewrite, mut section: SpliceInfoSection) -> SpliceInfoSection {
    if let super::Payload::Clear { descriptors, .. } = &mut section.payload {
        descriptors.retain(|d| !rewrite.remove_descriptor_tags.contains(&d.tag()));
    }
    if let Some(adj) = rewrite.pts_adjustment {
        section.pts_adjustment = adj % PTS_MODULO;
    }
    if let Some(tier) = rewrite.tier {
        section.tier = tier & 0xFFF;
    }
    section
}

/// The splice points a section announces, pts_adjustment applied.
pub fn splice_points(section: &SpliceInfoSection, ctx: &StreamContext) -> Vec<SplicePoint> {
    let adjust = |pts: u64| (pts + section.pts_adjustment) % PTS_MODULO;
    let mut points = Vec::new();
    match section.command() {
        Some(SpliceCommand::SpliceInsert(insert)) => {
            if let Some(e) = &insert.event {
                let pts = match e.splice_time.and_then(|t| t.pts_time) {
                    Some(pts) => adjust(pts),
                    None => ctx.pts,
                };
                points.push(SplicePoint {
                    pts,
                    kind: if e.out_of_network_indicator { SpliceKind::Out } else { SpliceKind::In },
                    duration: e.break_duration.map(|d| d.duration),
                    event_id: insert.splice_event_id,
                });
            }
        }
        Some(SpliceCommand::TimeSignal { splice_time }) => {
            let pts = splice_time.pts_time.map_or(ctx.pts, adjust);
            for d in section.descriptors() {
                let SpliceDescriptor::Segmentation(seg) = d else { continue };
                let Some(e) = &seg.event else { continue };
                let kind = if OUT_TYPES.contains(&e.segmentation_type_id) {
                    SpliceKind::Out
                } else if IN_TYPES.contains(&e.segmentation_type_id) {
                    SpliceKind::In
                } else {
                    continue;
                };
                points.push(SplicePoint {
                    pts,
                    kind,
                    duration: e.segmentation_duration,
                    event_id: seg.segmentation_event_id,
                });
            }
        }
        _ => {}
    }
    points
}

fn daterange(bytes: &[u8], point: Option<&SplicePoint>, pts: u64, ctx: &StreamContext, id: u32) -> String {
    // The splice's wall-clock time: arrival time plus how far ahead its PTS is
    // (modulo the 33-bit wrap, taken as the shorter way round).
    let ahead = crate::ts::ticks_between(ctx.pts, pts);
    let utc_ns = ctx.wall_clock_tai_ns as i128 - i128::from(TAI_UTC_OFFSET_S) * 1_000_000_000
        + i128::from(ahead) * 1_000_000_000 / 90_000;
    let mut line = format!("#EXT-X-DATERANGE:ID=\"{id}\",START-DATE=\"{}\"", iso8601(utc_ns));
    let (attr, duration) = match point {
        Some(SplicePoint { kind: SpliceKind::Out, duration, .. }) => ("SCTE35-OUT", *duration),
        Some(SplicePoint { kind: SpliceKind::In, .. }) => ("SCTE35-IN", None),
        None => ("SCTE35-CMD", None),
    };
    if let Some(d) = duration {
        line.push_str(&format!(",PLANNED-DURATION={}", seconds(d)));
    }
    line.push_str(&format!(",{attr}=0x{}", hex(bytes)));
    line
}

/// The `#EXT-X-CUE-OUT-CONT` line a packager writes on each segment inside a
/// break, `elapsed` and `duration` in 90 kHz ticks.
pub fn cue_out_cont(elapsed: u64, duration: u64, section: &[u8]) -> String {
    format!(
        "#EXT-X-CUE-OUT-CONT:ElapsedTime={},Duration={},SCTE35={}",
        seconds(elapsed),
        seconds(duration),
        base64(section)
    )
}

fn seconds(ticks: u64) -> String {
    format!("{}.{:03}", ticks / 90_000, (ticks % 90_000) / 90)
}

fn rescale(ticks: u64, timescale: u32) -> u64 {
    (u128::from(ticks) * u128::from(timescale) / 90_000) as u64
}

/// `2026-11-23T10:40:00.123Z` from UTC nanoseconds since 1970.
fn iso8601(utc_ns: i128) -> String {
    let secs = utc_ns.div_euclid(1_000_000_000) as i64;
    let millis = (utc_ns.rem_euclid(1_000_000_000) / 1_000_000) as u32;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::calendar::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, sod % 3600 / 60, sod % 60)
}

/// The section as SCTE 35 XML (the 2013 schema's main elements).
fn xml_2013(s: &SpliceInfoSection) -> String {
    let mut x = format!(
        "<scte35:SpliceInfoSection xmlns:scte35=\"http://www.scte.org/schemas/35/2016\" protocolVersion=\"{}\" ptsAdjustment=\"{}\" tier=\"{}\">",
        s.protocol_version, s.pts_adjustment, s.tier
    );
    let time = |t: Option<u64>| t.map_or(String::new(), |p| format!("<scte35:SpliceTime ptsTime=\"{p}\"/>"));
    match s.command() {
        Some(SpliceCommand::SpliceInsert(i)) => {
            x.push_str(&format!(
                "<scte35:SpliceInsert spliceEventId=\"{}\" spliceEventCancelIndicator=\"{}\"",
                i.splice_event_id, i.splice_event_cancel_indicator
            ));
            match &i.event {
                Some(e) => {
                    x.push_str(&format!(
                        " outOfNetworkIndicator=\"{}\" spliceImmediateFlag=\"{}\" uniqueProgramId=\"{}\" availNum=\"{}\" availsExpected=\"{}\">",
                        e.out_of_network_indicator, e.splice_immediate_flag, e.unique_program_id, e.avail_num, e.avails_expected
                    ));
                    x.push_str("<scte35:Program>");
                    x.push_str(&time(e.splice_time.and_then(|t| t.pts_time)));
                    x.push_str("</scte35:Program>");
                    if let Some(d) = e.break_duration {
                        x.push_str(&format!(
                            "<scte35:BreakDuration autoReturn=\"{}\" duration=\"{}\"/>",
                            d.auto_return, d.duration
                        ));
                    }
                    x.push_str("</scte35:SpliceInsert>");
                }
                None => x.push_str("/>"),
            }
        }
        Some(SpliceCommand::TimeSignal { splice_time }) => {
            x.push_str(&format!("<scte35:TimeSignal>{}</scte35:TimeSignal>", time(splice_time.pts_time)));
        }
        Some(SpliceCommand::SpliceNull) => x.push_str("<scte35:SpliceNull/>"),
        Some(other) => x.push_str(&format!(
            "<scte35:PrivateCommand identifier=\"{}\"/>",
            match other {
                SpliceCommand::PrivateCommand { identifier, .. } => *identifier,
                _ => u32::from(other.command_type()),
            }
        )),
        None => x.push_str("<scte35:EncryptedPacket/>"),
    }
    for d in s.descriptors() {
        if let SpliceDescriptor::Segmentation(seg) = d {
            x.push_str(&format!(
                "<scte35:SegmentationDescriptor segmentationEventId=\"{}\" segmentationEventCancelIndicator=\"{}\"",
                seg.segmentation_event_id, seg.segmentation_event_cancel_indicator
            ));
            match &seg.event {
                Some(e) => {
                    x.push_str(&format!(
                        " segmentationTypeId=\"{}\" segmentNum=\"{}\" segmentsExpected=\"{}\"",
                        e.segmentation_type_id, e.segment_num, e.segments_expected
                    ));
                    if let Some(d) = e.segmentation_duration {
                        x.push_str(&format!(" segmentationDuration=\"{d}\""));
                    }
                    x.push_str(&format!(
                        "><scte35:SegmentationUpid segmentationUpidType=\"{}\" segmentationUpidFormat=\"hexbinary\">{}</scte35:SegmentationUpid></scte35:SegmentationDescriptor>",
                        e.segmentation_upid.type_code(),
                        upid_hex(&e.segmentation_upid)
                    ));
                }
                None => x.push_str("/>"),
            }
        }
    }
    x.push_str("</scte35:SpliceInfoSection>");
    x
}

fn upid_hex(upid: &super::Upid) -> String {
    let mut w = super::bits::BitWriter::new();
    match upid.write(&mut w) {
        // Skip the type and length bytes.
        Ok(()) => hex(w.as_slice().get(2..).unwrap_or_default()),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_123_000_000), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(1_795_425_600_000_000_000), "2026-11-23T09:20:00.000Z");
    }

    #[test]
    fn durations_in_seconds() {
        assert_eq!(seconds(2_700_000), "30.000");
        assert_eq!(seconds(90_045), "1.000");
        assert_eq!(seconds(27_630_000), "307.000");
    }
}
