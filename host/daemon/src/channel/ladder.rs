//! An HLS output's encoding ladder (`hls://?ladder=…`): the renditions its
//! URL names, made by `stagebox_codec`'s ladder behind `stagebox_io`'s
//! transcoder hook, so the transport crate needs no FFmpeg.

use stagebox_codec::{Ladder, LadderConfig, Rendition};
use stagebox_io::transcode::{TranscodeError, Transcoder};
use stagebox_io::url::HlsUrl;

/// x264's preset for every rendition: real time for the seed's ladder on
/// a few cores (docs/streaming.md has the figures).
const PRESET: &str = "veryfast";

/// The ladder as the output runs it.
pub struct CodecLadder(Ladder);

/// The ladder `url` asks for, if any; the error says what is wrong with
/// its renditions.
pub fn from_url(url: &HlsUrl) -> Result<Option<CodecLadder>, String> {
    if url.ladder.is_empty() {
        return Ok(None);
    }
    let mut renditions: Vec<Rendition> = Vec::new();
    for spec in &url.ladder {
        if spec == "default" {
            renditions.extend(Rendition::defaults());
        } else {
            renditions.push(Rendition::parse(spec).map_err(|e| e.to_string())?);
        }
    }
    for (i, r) in renditions.iter().enumerate() {
        if renditions[..i].iter().any(|o| o.name == r.name) {
            return Err(format!("two renditions are named {:?}", r.name));
        }
    }
    if renditions.len() > 8 {
        return Err("at most 8 renditions".into());
    }
    let config = LadderConfig {
        renditions,
        segment_s: url.segment_s as f64,
        preset: PRESET.into(),
        audio_bitrate: url.audio_kbps.map(|k| k * 1000),
    };
    Ladder::new(config).map(|l| Some(CodecLadder(l))).map_err(|e| e.to_string())
}

impl Transcoder for CodecLadder {
    fn renditions(&self) -> Vec<String> {
        self.0.renditions().iter().map(|r| r.name.clone()).collect()
    }

    fn push(&mut self, packets: &[u8]) -> Result<Vec<Vec<u8>>, TranscodeError> {
        Ok(self.0.push(packets)?)
    }

    fn cut_at(&mut self, pts: u64) {
        self.0.cut_at(pts);
    }

    fn finish(&mut self) -> Result<Vec<Vec<u8>>, TranscodeError> {
        Ok(self.0.finish()?)
    }
}
