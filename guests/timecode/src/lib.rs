//! The bundled timecode burn-in: a video node that draws the SMPTE
//! timecode of each frame onto it. The counting and drawing are
//! `stagebox_media::timecode`, tested natively against the `timecode`
//! package and ffmpeg's decoders.
//!
//! Configuration (JSON, all optional):
//!
//! ```json
//! {
//!   "drop_frame": true,            // default: drop-frame at 29.97 and 59.94
//!   "source": "time-of-day",       // or "index" (the grain's index in its flow)
//!   "leap_seconds": 37,            // TAI − UTC
//!   "utc_offset_minutes": 0,       // local time
//!   "x": 100, "y": 900, "scale": 4 // default: centred near the bottom, 1 per 270 lines
//! }
//! ```

use stagebox_media::timecode::{BurnConfig, Counting, Frame, Layout, burn_text};
use stagebox_sdk::video::*;

struct Burn {
    config: BurnConfig,
    /// The counting for the last frame rate seen.
    counting: Option<((u32, u32), Counting)>,
}

fn error(code: ErrorCode, message: impl ToString) -> Error {
    Error { code, message: message.to_string() }
}

impl VideoNode for Burn {
    fn new(config: &str) -> Result<Self, Error> {
        let config = BurnConfig::from_json(config)
            .map_err(|e| error(ErrorCode::InvalidConfig, format!("timecode config: {e}")))?;
        Ok(Burn { config, counting: None })
    }

    fn process(&mut self, mut frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
        let f = frame.format;
        let rate = (f.rate.numerator, f.rate.denominator);
        let counting = match self.counting {
            Some((r, c)) if r == rate => c,
            _ => {
                let c = Counting::new(rate.0, rate.1, self.config.drop_frame)
                    .map_err(|e| error(ErrorCode::Unsupported, e))?;
                self.counting = Some((rate, c));
                c
            }
        };
        let label = self.config.label(&counting, frame.info.index, frame.info.timestamp);
        let layout = match f.pixel_format {
            PixelFormat::Uyvy => Layout::Uyvy,
            PixelFormat::V210 => Layout::V210,
            PixelFormat::Rgba => Layout::Rgba,
        };
        let mut target = Frame {
            data: &mut frame.data,
            layout,
            width: f.width as usize,
            height: f.height as usize,
            stride: f.stride as usize,
        };
        burn_text(&mut target, &label.to_string(), self.config.placement())
            .map_err(|e| error(ErrorCode::InvalidInput, e))?;
        Ok(vec![frame])
    }
}

stagebox_sdk::export_video_node!(Burn);
