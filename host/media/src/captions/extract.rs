//! Taking captions out of a transport stream: A/53 cc_data from the SEI of
//! its H.264 video, in presentation order, decoded into cues.

use super::sei::cc_data_from_h264;
use super::{CaptionError, CaptionSource, CcDecoder, CcStats, Cue};
use crate::ts::{Demuxer, Event, STREAM_TYPE_H264, Timeline, TsStats, ticks_to_ns};

/// What [`extract_from_ts`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The cues, timed from the first video frame (its PTS is time 0).
    pub cues: Vec<Cue>,
    /// The video PID the captions came from.
    pub video_pid: u16,
    /// The first frame's PTS (90 kHz), the cues' time 0.
    pub origin_pts: u64,
    /// Access units read.
    pub frames: u64,
    /// What the transport stream demuxer counted.
    pub ts: TsStats,
    /// What the caption decoder counted.
    pub captions: CcStats,
}

/// Decodes the captions `source` of the first H.264 stream in `ts`. The
/// stream is read whole: cc_data travels in decode order and is put in
/// presentation order (by PTS) before decoding, as A/53 requires.
pub fn extract_from_ts(ts: &[u8], source: CaptionSource) -> Result<Extracted, CaptionError> {
    let mut demux = Demuxer::new();
    let mut events = demux.push(ts);
    events.extend(demux.finish());
    let video_pid = events
        .iter()
        .find_map(|e| match e {
            Event::Pmt { pmt, .. } => pmt.streams.iter().find(|s| s.stream_type == STREAM_TYPE_H264).map(|s| s.pid),
            _ => None,
        })
        .ok_or_else(|| CaptionError::Transport("no H.264 video stream in the program map".into()))?;
    let mut timeline = Timeline::default();
    let mut frames: Vec<(u64, Vec<u8>)> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Pes { pid, pes } if pid == video_pid => pes.pts.map(|pts| (pts, pes.payload)),
            _ => None,
        })
        .map(|(pts, payload)| (timeline.extend(pts), cc_data_from_h264(&payload)))
        .collect();
    if frames.is_empty() {
        return Err(CaptionError::Transport(format!("no timed video on PID {video_pid}")));
    }
    frames.sort_by_key(|(pts, _)| *pts);
    let origin_pts = frames[0].0;
    let mut decoder = CcDecoder::new(source);
    let mut cues = Vec::new();
    let mut last = 0;
    for (pts, cc_data) in &frames {
        last = ticks_to_ns(pts - origin_pts);
        cues.extend(decoder.decode_cc(cc_data, last));
    }
    cues.extend(decoder.flush(last));
    Ok(Extracted {
        cues,
        video_pid,
        origin_pts: origin_pts % crate::ts::WRAP,
        frames: frames.len() as u64,
        ts: demux.stats(),
        captions: decoder.stats(),
    })
}
