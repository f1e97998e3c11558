//! The template plugin: a video node that makes a negative image.
//! Copy this folder to start a new plugin (see docs/plugins.md).

use stagebox_sdk::video::*;

struct Invert;

impl VideoNode for Invert {
    fn new(_config: &str) -> Result<Self, Error> {
        Ok(Invert)
    }

    fn process(&mut self, mut frame: VideoFrame) -> Result<Vec<VideoFrame>, Error> {
        match frame.format.pixel_format {
            // v210 packs three 10-bit samples per 32-bit word: 1023 - v for each.
            PixelFormat::V210 => frame.data.chunks_exact_mut(4).for_each(|w| {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) ^ 0x3FFF_FFFF;
                w.copy_from_slice(&v.to_le_bytes());
            }),
            PixelFormat::Uyvy | PixelFormat::Rgba => frame.data.iter_mut().for_each(|b| *b = !*b),
        }
        Ok(vec![frame])
    }
}

stagebox_sdk::export_video_node!(Invert);
