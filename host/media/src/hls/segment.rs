//! Cutting a live transport stream into HLS media segments, without
//! touching its packets: a segment starts at a video access unit a decoder
//! can start on (an H.264 IDR, an HEVC IRAP, an MPEG-2 sequence header, or
//! a packet flagged random_access), once the one before has lasted the
//! target duration, and opens with the latest PAT and PMT so that a player
//! can start on it. A jump in the time base (a new encoder, a restart) ends
//! the segment and marks the next one discontinuous; a stream without such
//! access units (intra refresh) is cut anyway at four times the target.

use crate::ts::{PACKET_SIZE, Packet, Pes, ProgramWatch, STREAM_TYPE_H264, WRAP, ticks_forward};
use std::collections::BTreeMap;

/// HEVC's stream_type.
const STREAM_TYPE_HEVC: u8 = 0x24;

/// MPEG-2 video's stream_type.
const STREAM_TYPE_MPEG2: u8 = 0x02;

/// A step between access units beyond this (10 s forward, or more than
/// 1 s back: B-frames go back less) is a new time base, not the stream
/// moving on.
const JUMP_FORWARD: u64 = 10 * 90_000;
const JUMP_BACK: u64 = 90_000;
/// How far ahead of the stream a splice point may be asked for: 5 minutes.
pub const MAX_SPLIT_AHEAD: u64 = 300 * 90_000;

/// A segment this big is cut at the next packet whatever it holds (64 s
/// at 8 Mb/s): a stream whose time stands still cannot grow one forever.
const MAX_SEGMENT_BYTES: usize = 64 << 20;

/// One finished segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its media sequence number, from 0.
    pub sequence: u64,
    /// Seconds from its first access unit's PTS to the next segment's (for
    /// the last segment of a stream: to its last access unit's, plus one
    /// frame).
    pub duration: f64,
    /// The PTS its first access unit is presented at (90 kHz, 33 bits).
    pub pts: u64,
    /// When its first packet arrived, in ms since the Unix epoch (UTC): its
    /// `EXT-X-PROGRAM-DATE-TIME`.
    pub utc_ms: i64,
    /// The transport stream: the PAT and PMT, then every packet from the
    /// access unit on.
    pub bytes: Vec<u8>,
    /// Its time base does not follow the segment before it
    /// (`EXT-X-DISCONTINUITY`).
    pub discontinuity: bool,
}

/// A PSI section's packets, gathered until the section is whole.
#[derive(Debug, Default)]
struct Partial {
    packets: Vec<u8>,
    /// Their payloads: the pointer_field, then the section.
    payload: Vec<u8>,
}

impl Partial {
    /// Whether the first section is all there.
    fn whole(&self) -> bool {
        let Some(&pointer) = self.payload.first() else { return false };
        let section = &self.payload[(1 + usize::from(pointer)).min(self.payload.len())..];
        section.len() >= 3 && section.len() >= 3 + (usize::from(section[1] & 0x0f) << 8 | usize::from(section[2]))
    }
}

/// The segment being filled.
#[derive(Debug)]
struct Open {
    pts: u64,
    utc_ms: i64,
    bytes: Vec<u8>,
    discontinuity: bool,
}

/// Cuts a transport stream into segments; see the module docs.
#[derive(Debug)]
pub struct Segmenter {
    /// The target duration, 90 kHz ticks.
    target: u64,
    watch: ProgramWatch,
    /// The latest whole PAT and PMT, as packets, by PID.
    psi: BTreeMap<u16, Vec<u8>>,
    /// A PAT or PMT being gathered, by PID.
    partial: BTreeMap<u16, Partial>,
    open: Option<Open>,
    sequence: u64,
    /// The PTS of the last video access unit started.
    last_pts: Option<u64>,
    /// The shortest time between two access units seen: a frame.
    frame: Option<u64>,
    /// The latest PTS presented in the open segment, as ticks after its
    /// first (B-frames come out of order).
    reach: u64,
    /// The next segment starts a new time base.
    discontinuity: bool,
    /// The size of the last segment made: the next one's first allocation.
    last_size: usize,
    /// Splice points still ahead: a segment starts at each.
    splits: Vec<u64>,
}

impl Segmenter {
    /// A segmenter aiming at segments of `target_s` seconds (each is as
    /// long as the keyframes allow: at least the target, unless the
    /// stream ends).
    pub fn new(target_s: f64) -> Segmenter {
        Segmenter {
            target: (target_s.max(0.0) * 90_000.0) as u64,
            watch: ProgramWatch::new(),
            psi: BTreeMap::new(),
            partial: BTreeMap::new(),
            open: None,
            sequence: 0,
            last_pts: None,
            frame: None,
            reach: 0,
            discontinuity: false,
            last_size: 0,
            splits: Vec::new(),
        }
    }

    /// Adds transport packets (a multiple of 188 bytes; anything else is
    /// ignored) that arrived at `utc_ms`; returns the segments they
    /// complete. Packets before the first access unit a decoder can start
    /// on go nowhere.
    pub fn push(&mut self, packets: &[u8], utc_ms: i64) -> Vec<Segment> {
        let mut done = Vec::new();
        for chunk in packets.chunks_exact(PACKET_SIZE) {
            let Ok(bytes) = <&[u8; PACKET_SIZE]>::try_from(chunk) else { continue };
            // A packet the parser refuses still goes out with the others.
            if let Ok(packet) = Packet::parse(bytes) {
                self.look_at(&packet, bytes, utc_ms, &mut done);
            }
            if self.open.as_ref().is_some_and(|o| o.bytes.len() >= MAX_SEGMENT_BYTES) {
                let duration = ticks_to_s(self.reach + self.frame.unwrap_or(0));
                self.cut(duration, None, utc_ms, &mut done);
            }
            if let Some(open) = &mut self.open {
                open.bytes.extend_from_slice(chunk);
            }
        }
        done
    }

    /// Follows the PSI and the video access units; cuts where one starts a
    /// segment.
    fn look_at(&mut self, packet: &Packet<'_>, bytes: &[u8; PACKET_SIZE], utc_ms: i64, done: &mut Vec<Segment>) {
        if packet.pid == 0 || self.watch.is_pmt(packet.pid) {
            self.keep_psi(packet, bytes);
        }
        let _ = self.watch.observe(bytes);
        let Some((pts, start)) = self.access_unit(packet) else { return };
        if let Some(last) = self.last_pts.replace(pts) {
            let (forward, back) = (ticks_forward(last, pts), ticks_forward(pts, last));
            if (forward < back && forward > JUMP_FORWARD) || (back <= forward && back > JUMP_BACK) {
                // A new time base: the open segment ends where its own
                // time did; the next starts at a decodable access unit.
                self.discontinuity = true;
                if self.open.is_some() {
                    let duration = ticks_to_s(self.reach + self.frame.unwrap_or(0));
                    self.cut(duration, None, utc_ms, done);
                }
            } else {
                // Either way round: B-frames are sent before the
                // pictures they are shown after.
                let gap = forward.min(back);
                if gap > 0 {
                    self.frame = Some(self.frame.map_or(gap, |f| f.min(gap)));
                }
            }
        }
        let Some(open) = &self.open else {
            if start {
                self.cut(0.0, Some(pts), utc_ms, done);
            }
            return;
        };
        let after = ticks_forward(open.pts, pts);
        if after >= WRAP / 2 {
            return;
        }
        // At a splice point's access unit, at a decodable access unit past
        // the target, or at any past four times the target (a stream
        // without them).
        let due = |split: &u64| ticks_forward(*split, pts) < WRAP / 2;
        let splice = start && after > 0 && self.splits.iter().any(due);
        if splice {
            self.splits.retain(|s| !due(s));
        }
        if splice || (start && after >= self.target) || after >= 4 * self.target.max(90_000) {
            self.cut(ticks_to_s(after), Some(pts), utc_ms, done);
        } else {
            self.reach = self.reach.max(after);
        }
    }

    /// Finishes the open segment (if any) at `duration` seconds, and opens
    /// the next at `pts` (or at once, where there is no access unit to
    /// open at: the stream cut by size, or a time base that jumped).
    fn cut(&mut self, duration: f64, pts: Option<u64>, utc_ms: i64, done: &mut Vec<Segment>) {
        if let Some(open) = self.open.take() {
            let open_pts = open.pts;
            done.push(self.close(open, duration));
            if pts.is_none() && !self.discontinuity {
                // Cut by size: carry on at once from the same time base.
                self.open = Some(self.start(open_pts, utc_ms));
                return;
            }
        }
        if let Some(pts) = pts {
            self.open = Some(self.start(pts, utc_ms));
        }
    }

    /// A new segment at `pts`, opening with the latest PAT and PMT of the
    /// programs the PAT lists now.
    fn start(&mut self, pts: u64, utc_ms: i64) -> Open {
        let watch = &self.watch;
        self.psi.retain(|pid, _| *pid == 0 || watch.is_pmt(*pid));
        self.reach = 0;
        // Room for a segment like the last (and an eighth more), so it
        // is not copied again and again as it grows.
        let mut bytes = Vec::with_capacity(self.last_size + self.last_size / 8);
        bytes.extend(self.psi.values().flatten());
        Open { pts, utc_ms, bytes, discontinuity: std::mem::take(&mut self.discontinuity) }
    }

    /// Asks for a segment to start at the first access unit a decoder can
    /// start on at or after `pts` (a splice point), whatever the target
    /// duration. Returns false, and does nothing, for a PTS not ahead of
    /// the latest access unit, or more than [`MAX_SPLIT_AHEAD`] ahead of
    /// it, or before any access unit was seen: the caller then treats the
    /// splice as immediate. At most 16 splice points wait at a time; the
    /// nearest are kept.
    pub fn cut_at(&mut self, pts: u64) -> bool {
        let Some(latest) = self.last_pts else { return false };
        let ahead = ticks_forward(latest, pts);
        if ahead == 0 || ahead > MAX_SPLIT_AHEAD {
            return false;
        }
        self.splits.push(pts);
        self.splits.sort_by_key(|s| ticks_forward(latest, *s));
        self.splits.truncate(16);
        true
    }

    /// The PTS of the latest video access unit seen.
    pub fn latest_pts(&self) -> Option<u64> {
        self.last_pts
    }

    /// The PTS the segment being filled starts at; `None` before the
    /// first access unit a decoder can start on.
    pub fn open_pts(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.pts)
    }

    /// Ends the stream: the segment being filled, if any, is finished.
    pub fn finish(&mut self) -> Option<Segment> {
        let open = self.open.take()?;
        let duration = ticks_to_s(self.reach + self.frame.unwrap_or(0));
        Some(self.close(open, duration))
    }

    fn close(&mut self, open: Open, duration: f64) -> Segment {
        let sequence = self.sequence;
        self.sequence += 1;
        self.last_size = open.bytes.len().min(MAX_SEGMENT_BYTES);
        Segment {
            sequence,
            duration,
            pts: open.pts,
            utc_ms: open.utc_ms,
            bytes: open.bytes,
            discontinuity: open.discontinuity,
        }
    }

    /// Keeps the packets of the latest whole PAT or PMT.
    fn keep_psi(&mut self, packet: &Packet<'_>, bytes: &[u8; PACKET_SIZE]) {
        if packet.unit_start {
            self.partial.insert(packet.pid, Partial::default());
        }
        let Some(partial) = self.partial.get_mut(&packet.pid) else { return };
        partial.packets.extend_from_slice(bytes);
        partial.payload.extend_from_slice(packet.payload);
        if partial.whole() {
            if let Some(whole) = self.partial.remove(&packet.pid) {
                self.psi.insert(packet.pid, whole.packets);
            }
        } else if partial.packets.len() > 8 * PACKET_SIZE {
            // No PSI section runs that long (1,021 bytes at most).
            self.partial.remove(&packet.pid);
        }
    }

    /// For a packet that starts a video PES: its PTS, and whether a
    /// decoder can start there.
    fn access_unit(&self, packet: &Packet<'_>) -> Option<(u64, bool)> {
        if !packet.unit_start {
            return None;
        }
        let stream_type =
            self.watch.pmts().values().flat_map(|p| &p.streams).find(|s| s.pid == packet.pid).map(|s| s.stream_type)?;
        if !matches!(stream_type, STREAM_TYPE_H264 | STREAM_TYPE_HEVC | STREAM_TYPE_MPEG2) {
            return None;
        }
        let pes = Pes::parse(packet.payload).ok()?;
        let pts = pes.pts?;
        let flagged = packet.adaptation.is_some_and(|a| a.random_access);
        Some((pts, flagged || starts_decoding(stream_type, &pes.payload)))
    }
}

/// Whether an elementary stream's bytes (the start of an access unit)
/// hold a NAL unit a decoder can start on.
fn starts_decoding(stream_type: u8, es: &[u8]) -> bool {
    es.windows(4).filter(|w| w[..3] == [0, 0, 1]).any(|w| match stream_type {
        // H.264: an IDR slice (an SPS alone may be repeated before any
        // picture).
        STREAM_TYPE_H264 => w[3] & 0x1f == 5,
        // HEVC: IRAP pictures (BLA, IDR, CRA).
        STREAM_TYPE_HEVC => matches!((w[3] >> 1) & 0x3f, 16..=21),
        // MPEG-2 video: a sequence header.
        _ => w[3] == 0xb3,
    })
}

fn ticks_to_s(ticks: u64) -> f64 {
    ticks as f64 / 90_000.0
}
