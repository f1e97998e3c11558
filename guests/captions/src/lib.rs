//! The bundled caption converter. The logic is `stagebox_media::captions`,
//! the same code the host tests, fuzzes and runs in `stagebox captions`;
//! this crate only maps it to the `caption-converter` world.
//!
//! Configuration (JSON, optional): `{"source": "cc1"}` chooses what
//! `decode-cc` takes: `cc1`–`cc4` (CEA-608) or `service1`–`service63`
//! (CEA-708). The default is `cc1`.

use stagebox_media::captions::{self as media, CaptionError, CcDecoder, Channel608, ConverterConfig, FrameRate};
use stagebox_sdk::captions::*;

struct Converter {
    decoder: CcDecoder,
}

fn invalid(e: CaptionError) -> Error {
    Error { code: ErrorCode::InvalidInput, message: e.to_string() }
}

fn to_wit(c: media::Cue) -> Cue {
    Cue { start: c.start, end: c.end, text: c.text, line: c.line, column: c.column, styled: c.styled }
}

fn from_wit(c: Cue) -> media::Cue {
    media::Cue { start: c.start, end: c.end, text: c.text, line: c.line, column: c.column, styled: c.styled }
}

fn format(f: TextFormat) -> media::TextFormat {
    match f {
        TextFormat::Webvtt => media::TextFormat::WebVtt,
        TextFormat::Srt => media::TextFormat::Srt,
    }
}

fn report(cues: &[media::Cue]) {
    if !cues.is_empty() {
        metrics::counter_add("cues", cues.len() as u64);
    }
}

impl CaptionConverter for Converter {
    fn new(config: &str) -> Result<Self, Error> {
        let config = ConverterConfig::from_json(config)
            .map_err(|e| Error { code: ErrorCode::InvalidConfig, message: format!("caption converter config: {e}") })?;
        Ok(Converter { decoder: CcDecoder::new(config.source) })
    }

    fn decode_cc(&mut self, cc_data: Vec<u8>, pts: u64, _wall_clock: u64) -> Result<Vec<Cue>, Error> {
        let cues = self.decoder.decode_cc(&cc_data, pts);
        report(&cues);
        Ok(cues.into_iter().map(to_wit).collect())
    }

    fn flush(&mut self, pts: u64) -> Vec<Cue> {
        let cues = self.decoder.flush(pts);
        report(&cues);
        cues.into_iter().map(to_wit).collect()
    }

    fn stats(&self) -> DecodeStats {
        let s = self.decoder.stats();
        DecodeStats { parity_errors: s.parity_errors, xds_packets: s.xds_packets, bad_service_blocks: s.bad_packets }
    }

    fn cues_to_text(&mut self, cues: Vec<Cue>, to: TextFormat) -> Result<String, Error> {
        let cues: Vec<media::Cue> = cues.into_iter().map(from_wit).collect();
        media::write(&cues, format(to)).map_err(invalid)
    }

    fn text_to_cues(&mut self, text: String, from: TextFormat) -> Result<Vec<Cue>, Error> {
        Ok(media::read(&text, format(from)).map_err(invalid)?.into_iter().map(to_wit).collect())
    }

    fn cues_to_cea608(
        &mut self,
        cues: Vec<Cue>,
        channel: Cea608Channel,
        start: u64,
        frame_rate_milli: u32,
    ) -> Result<Vec<(u8, u8)>, Error> {
        let channel = match channel {
            Cea608Channel::Cc1 => Channel608::Cc1,
            Cea608Channel::Cc2 => Channel608::Cc2,
            Cea608Channel::Cc3 => Channel608::Cc3,
            Cea608Channel::Cc4 => Channel608::Cc4,
        };
        let rate = FrameRate::from_milli(frame_rate_milli).map_err(invalid)?;
        let cues: Vec<media::Cue> = cues.into_iter().map(from_wit).collect();
        let pairs = media::encode_cea608(&cues, channel, start, rate).map_err(invalid)?;
        Ok(pairs.into_iter().map(|[a, b]| (a, b)).collect())
    }
}

stagebox_sdk::export_caption_converter!(Converter);
