//! Captions: CEA-608 decoding and encoding, and the SCC, WebVTT and SRT
//! text formats.
//!
//! - [`Cea608Decoder`] turns cc_data triplets (as carried in H.264 SEI or
//!   read from SCC) into [`Cue`]s: pop-on, roll-up (2, 3, 4 rows) and
//!   paint-on; preamble address, mid-row and tab offset codes; the standard,
//!   special and extended character sets; CC1–CC4 on both fields; XDS
//!   skipped; parity checked, with bad pairs counted and dropped.
//! - [`Cea708Decoder`] does the same for a CEA-708 service: DTVCC packets,
//!   service blocks, the eight windows, pen attributes and text.
//! - [`CcDecoder`] decodes whichever [`CaptionSource`] is chosen (`cc1`–`cc4`
//!   or `service1`–`service63`).
//! - [`encode_cea608`] turns cues back into 608 byte pairs (pop-on), one
//!   pair per frame.
//! - [`extract_from_ts`] takes the captions of a transport stream's H.264
//!   video (A/53 cc_data in SEI, see [`sei`]) and decodes them.
//! - [`read`] and [`write`] convert between cues and SCC, WebVTT and SRT.
//!
//! Character tables and code parsing come from the `cea608-types` and
//! `cea708-types` crates (ANSI/CTA-608-E, CTA-708-E); the display models
//! (608 memories, cursor and roll-up window; 708 windows and pens) and cue
//! timing are ours.
//!
//! ```
//! use stagebox_media::captions::*;
//! let srt = "1\n00:00:01,000 --> 00:00:02,500\nHello\n";
//! let cues = read(srt, TextFormat::Srt)?;
//! assert_eq!(cues[0].text, "Hello");
//! let vtt = write(&cues, TextFormat::WebVtt)?;
//! assert!(vtt.starts_with("WEBVTT"));
//! # Ok::<(), CaptionError>(())
//! ```

mod block;
mod cea608;
mod cea708;
mod encode;
mod error;
mod extract;
mod grid;
mod scc;
pub mod sei;
mod source;
mod srt;
mod style;
mod time;
pub mod webvtt;

pub use cea608::{Cea608Decoder, Channel608, DecodeStats};
pub use cea708::{Cea708Decoder, Cea708Stats};
pub use encode::encode_cea608;
pub use error::CaptionError;
pub use extract::{Extracted, extract_from_ts};
pub use scc::{SccPair, frame_timecode, read_scc_pairs, scc_cues};
pub use source::{CaptionSource, CcDecoder, CcStats, ConverterConfig};
pub use time::FrameRate;

use serde::{Deserialize, Serialize};

/// One caption cue. Times are nanoseconds of media time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cue {
    /// When the cue appears.
    pub start: u64,
    /// When it goes away.
    pub end: u64,
    /// The text, lines separated by `\n`. When `styled`, italics, underline
    /// and colour are WebVTT-style tags (`<i>`, `<u>`, `<c.yellow>`).
    pub text: String,
    /// Screen row of the first line (0 = top of the 15-row 608 grid), where
    /// the source says.
    pub line: Option<u8>,
    /// Column of the first character (0–31), where the source says.
    pub column: Option<u8>,
    /// Whether `text` carries style tags.
    pub styled: bool,
}

impl Cue {
    /// A plain cue with no position or style.
    pub fn new(start: u64, end: u64, text: impl Into<String>) -> Cue {
        Cue { start, end, text: text.into(), line: None, column: None, styled: false }
    }

    /// The text with style tags removed.
    pub fn plain_text(&self) -> String {
        if self.styled { style::strip_tags(&self.text) } else { self.text.clone() }
    }
}

/// A caption file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    /// WebVTT (W3C).
    WebVtt,
    /// SubRip.
    Srt,
    /// Scenarist SCC: CEA-608 byte pairs with SMPTE timecode, 29.97 fps.
    Scc,
}

impl TextFormat {
    /// The format a file name's extension names (`.vtt`, `.srt`, `.scc`).
    pub fn from_extension(path: &str) -> Option<TextFormat> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "vtt" | "webvtt" => Some(TextFormat::WebVtt),
            "srt" => Some(TextFormat::Srt),
            "scc" => Some(TextFormat::Scc),
            _ => None,
        }
    }
}

/// Reads a caption document. SCC is decoded as CC1.
pub fn read(text: &str, format: TextFormat) -> Result<Vec<Cue>, CaptionError> {
    match format {
        TextFormat::WebVtt => webvtt::read(text),
        TextFormat::Srt => srt::read(text),
        TextFormat::Scc => scc_cues(text, Channel608::Cc1),
    }
}

/// Writes cues as a caption document. SCC is written as pop-on captions on
/// CC1 with drop-frame timecode.
pub fn write(cues: &[Cue], format: TextFormat) -> Result<String, CaptionError> {
    match format {
        TextFormat::WebVtt => Ok(webvtt::write(cues)),
        TextFormat::Srt => Ok(srt::write(cues)),
        TextFormat::Scc => scc::write(cues, Channel608::Cc1),
    }
}
