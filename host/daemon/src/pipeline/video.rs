//! A video plugin node: every frame of the input through a `video-node`
//! plugin, written to the output flow at the same index, under the node's
//! failure policy.

use super::input::Grain;
use super::node::NodeContext;
use super::process::{Failure, Processor};
use stagebox_flow::{DiscreteWriter, FlowError, FlowFormat, VideoCoding};
use stagebox_plugins::types::{GrainInfo, PixelFormat, Rational, VideoFormat, VideoFrame};
use stagebox_plugins::{NodeError, VideoNode};

/// The plugin's view of a flow's video format, if it has one.
pub fn wit_format(format: &FlowFormat) -> Option<VideoFormat> {
    let FlowFormat::Video(v) = format else { return None };
    let (pixel_format, stride) = match v.coding {
        VideoCoding::V210 => (PixelFormat::V210, stagebox_flow::pattern::v210_line_bytes(v.width) as u32),
        VideoCoding::Uyvy => (PixelFormat::Uyvy, v.width * 2),
        VideoCoding::Rgba => (PixelFormat::Rgba, v.width * 4),
        _ => return None,
    };
    let rate = Rational {
        numerator: u32::try_from(v.rate.numerator()).ok()?,
        denominator: u32::try_from(v.rate.denominator()).ok()?,
    };
    Some(VideoFormat { pixel_format, width: v.width, height: v.height, stride, rate })
}

/// A short name for a failure, for events and metrics.
pub fn failure_kind(e: &NodeError) -> &'static str {
    match e {
        NodeError::Guest { .. } => "guest_error",
        NodeError::Timeout { .. } => "timeout",
        NodeError::MemoryLimit { .. } => "memory_limit",
        NodeError::OutputTooLarge { .. } => "output_too_large",
        NodeError::Trap { .. } => "trap",
        NodeError::Instantiate(_) => "instantiate",
    }
}

/// A `video-node` plugin on frames of one format.
pub struct VideoProcessor {
    /// The plugin.
    pub node: VideoNode,
    /// The input's (and output's) format.
    pub format: VideoFormat,
}

impl Processor for VideoProcessor {
    fn call(&mut self, _ctx: &NodeContext, grain: &mut Grain) -> Result<Option<Vec<u8>>, Failure> {
        let frame_bytes = (self.format.stride * self.format.height) as usize;
        let frame = VideoFrame {
            info: GrainInfo { index: grain.index, timestamp: grain.timestamp, invalid: false },
            format: self.format,
            data: std::mem::take(&mut grain.data),
        };
        let result = self.node.process(&frame);
        grain.data = frame.data;
        let mut out = result.map_err(|e| (failure_kind(&e), e.to_string()))?;
        match (out.pop(), out.is_empty()) {
            (None, _) => Ok(None),
            (Some(f), true) if f.data.len() == frame_bytes => Ok(Some(f.data)),
            (Some(f), true) => Err((
                "bad_output",
                format!("the plugin returned a frame of {} bytes; this node needs {frame_bytes}", f.data.len()),
            )),
            (Some(_), false) => Err(("bad_output", format!("the plugin returned {} frames for one", out.len() + 1))),
        }
    }

    fn write(&self, writer: &mut DiscreteWriter, grain: &Grain, payload: &[u8]) -> Result<(), FlowError> {
        let mut out = writer.grant(grain.index)?;
        let bytes = out.payload_mut();
        let n = payload.len().min(bytes.len());
        bytes[..n].copy_from_slice(&payload[..n]);
        out.commit()
    }
}
