//! Per-output SCTE-35 decisions. The distributor reassembles each
//! splice_info_section on the PIDs the PMT marks stream_type 0x86 and asks
//! each output's filter (in Stagebox, an instance of the SCTE-35 plugin)
//! whether to pass, drop or rewrite it, and for an HLS output, which tags
//! the playlist gets and where. An output without a filter gets the
//! original packets, bit for bit, and no tags.

/// What to do with one section on one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CueDecision {
    /// Send it unchanged.
    Pass,
    /// Do not send it.
    Drop,
    /// Send these bytes instead (a whole section, CRC included).
    Rewrite(Vec<u8>),
}

impl CueDecision {
    /// The section as the output sends it: `section` itself, the
    /// rewritten bytes, or nothing for a drop.
    pub fn applied<'a>(&'a self, section: &'a [u8]) -> Option<&'a [u8]> {
        match self {
            CueDecision::Pass => Some(section),
            CueDecision::Drop => None,
            CueDecision::Rewrite(bytes) => Some(bytes),
        }
    }
}

/// What an output's filter says about one section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueOutcome {
    /// What happens to the section on the output.
    pub decision: CueDecision,
    /// Lines for an HLS output's playlist (`#EXT-X-DATERANGE:…`,
    /// `#EXT-X-CUE-OUT:…`, …), in the dialects the filter was asked for;
    /// other outputs ignore them.
    pub playlist: Vec<String>,
    /// The splice point's PTS (90 kHz), where the cue announces one: an
    /// HLS output starts a segment there and puts the lines before it.
    /// Without one the lines go before the next segment.
    pub splice_pts: Option<u64>,
    /// DASH events for a CMAF output's part of the manifest (`time`: the
    /// splice point's PTS, or where the cue came); other outputs ignore
    /// them.
    pub events: Vec<stagebox_media::dash::Event>,
}

impl From<CueDecision> for CueOutcome {
    fn from(decision: CueDecision) -> CueOutcome {
        CueOutcome { decision, playlist: Vec::new(), splice_pts: None, events: Vec::new() }
    }
}

/// Where a section was found.
#[derive(Debug, Clone, Copy)]
pub struct CueContext<'a> {
    /// The PID it came on.
    pub pid: u16,
    /// The latest video PTS (90 kHz), 0 before the first.
    pub pts: u64,
    /// The channel's name.
    pub channel: &'a str,
}

/// Decides the fate of SCTE-35 sections on one output. Called on the
/// channel's task: an implementation must bound its own time (the plugin
/// runtime's deadline does).
pub trait CueFilter: Send {
    /// The decision for `section` (table_id to CRC), and how it shows in
    /// a playlist.
    fn decide(&mut self, section: &[u8], context: &CueContext<'_>) -> CueOutcome;
}
