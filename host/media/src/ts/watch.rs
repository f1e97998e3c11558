//! Watching a multiplex go by without taking it apart: the PAT and PMTs
//! are followed to learn which PIDs carry SCTE-35 (stream_type 0x86) and
//! video, SCTE-35 sections are reassembled, and the latest video PTS is
//! kept. Elementary stream payloads are never copied, so a distributor can
//! run this on every packet it forwards.

use super::continuity::{Continuity, follow};
use super::packet::{PACKET_SIZE, Packet};
use super::pes::Pes;
use super::psi::{Pat, Pmt, SectionAssembler};
use super::{STREAM_TYPE_H264, STREAM_TYPE_SCTE35};
use std::collections::{BTreeMap, BTreeSet};

/// MPEG-2 video, H.264 and HEVC: the streams whose PTS stands for "now".
const VIDEO_TYPES: [u8; 3] = [0x02, STREAM_TYPE_H264, 0x24];

#[derive(Debug, Default)]
struct Sections {
    assembler: SectionAssembler,
    continuity: Option<u8>,
}

impl Sections {
    /// Adds a packet; the sections it completes are pushed onto `out`.
    fn push(&mut self, packet: &Packet<'_>, out: &mut Vec<Vec<u8>>) {
        let discontinuity = packet.adaptation.is_some_and(|a| a.discontinuity);
        match follow(&mut self.continuity, packet.continuity, packet.has_payload, discontinuity) {
            Continuity::Duplicate => return,
            Continuity::Gap => self.assembler.reset(),
            Continuity::InOrder => {}
        }
        if packet.has_payload {
            // A damaged section is dropped by the assembler; the next starts clean.
            let _ = self.assembler.push(packet.payload, packet.unit_start, out);
        }
    }
}

/// What a distributor needs to know about the programs it forwards.
#[derive(Debug, Default)]
pub struct ProgramWatch {
    pat: Sections,
    pmt_pids: BTreeMap<u16, Sections>,
    pmts: BTreeMap<u16, Pmt>,
    scte35: BTreeMap<u16, Sections>,
    video: BTreeSet<u16>,
    /// One flag per PID: whether its packets need a look (PMTs, SCTE-35
    /// and video; the PAT always does). Every other packet, most of a
    /// multiplex, is passed over on a single lookup.
    watched: Vec<bool>,
    /// One flag per PID: whether a PMT names it as its PCR_PID.
    pcr: Vec<bool>,
    pmt_sections: u64,
    pts: Option<u64>,
}

impl ProgramWatch {
    /// A watch that has seen nothing.
    pub fn new() -> ProgramWatch {
        ProgramWatch::default()
    }

    /// Whether `pid` carries SCTE-35 according to the PMTs seen.
    pub fn is_scte35(&self, pid: u16) -> bool {
        self.scte35.contains_key(&pid)
    }

    /// The PIDs that carry SCTE-35.
    pub fn scte35_pids(&self) -> impl Iterator<Item = u16> + '_ {
        self.scte35.keys().copied()
    }

    /// The PTS of the latest video PES packet started (90 kHz, 33 bits).
    pub fn pts(&self) -> Option<u64> {
        self.pts
    }

    /// The PMTs seen, by PID.
    pub fn pmts(&self) -> &BTreeMap<u16, Pmt> {
        &self.pmts
    }

    /// Whether a PMT names `pid` as its program's PCR_PID.
    pub fn is_pcr(&self, pid: u16) -> bool {
        self.pcr.get(usize::from(pid)).copied().unwrap_or(false)
    }

    /// Whether `pid` carries a PMT, as the PAT says.
    pub fn is_pmt(&self, pid: u16) -> bool {
        self.pmt_pids.contains_key(&pid)
    }

    /// PMT sections read so far, changed or not: one that rewrites PMTs
    /// sends its own version each time this moves.
    pub fn pmt_sections(&self) -> u64 {
        self.pmt_sections
    }

    /// Looks at one packet. For a packet on a SCTE-35 PID, returns the
    /// sections it completes (often none, for a packet mid-section);
    /// otherwise `None`. Damaged packets are ignored.
    pub fn observe(&mut self, bytes: &[u8; PACKET_SIZE]) -> Option<Vec<Vec<u8>>> {
        let pid = usize::from(u16::from_be_bytes([bytes[1], bytes[2]]) & 0x1fff);
        if pid != 0 && !self.watched.get(pid).copied().unwrap_or(false) {
            return None;
        }
        let packet = Packet::parse(bytes).ok().filter(|p| !p.transport_error && p.scrambling == 0)?;
        let pid = packet.pid;
        if let Some(sections) = self.scte35.get_mut(&pid) {
            let mut out = Vec::new();
            sections.push(&packet, &mut out);
            return Some(out);
        }
        if self.video.contains(&pid) {
            if packet.unit_start {
                // The PES header sits in the first packet; its payload is
                // cut short, which Pes::parse allows for a length-0 packet.
                if let Ok(pes) = Pes::parse(packet.payload) {
                    self.pts = pes.pts.or(self.pts);
                }
            }
            return None;
        }
        let mut out = Vec::new();
        if pid == 0 {
            self.pat.push(&packet, &mut out);
            for section in out {
                if let Ok(pat) = Pat::parse(&section) {
                    self.on_pat(&pat);
                }
            }
        } else if let Some(sections) = self.pmt_pids.get_mut(&pid) {
            sections.push(&packet, &mut out);
            for section in out {
                if let Ok(pmt) = Pmt::parse(&section) {
                    self.pmt_sections += 1;
                    self.on_pmt(pid, pmt);
                }
            }
        }
        None
    }

    fn on_pat(&mut self, pat: &Pat) {
        // A PMT's PID is 0x0010 to 0x1FFE; anything else is a damaged PAT.
        let wanted: BTreeSet<u16> = pat
            .programs
            .iter()
            .filter(|(n, pid)| *n != 0 && (0x10..0x1fff).contains(pid))
            .map(|(_, pid)| *pid)
            .collect();
        self.pmt_pids.retain(|pid, _| wanted.contains(pid));
        self.pmts.retain(|pid, _| wanted.contains(pid));
        for pid in wanted {
            self.pmt_pids.entry(pid).or_default();
        }
        self.rebuild();
    }

    fn on_pmt(&mut self, pid: u16, pmt: Pmt) {
        if self.pmts.get(&pid) != Some(&pmt) {
            self.pmts.insert(pid, pmt);
            self.rebuild();
        }
    }

    /// Recomputes the SCTE-35 and video PIDs from the PMTs, keeping the
    /// assembly state of SCTE-35 PIDs that stay.
    fn rebuild(&mut self) {
        let streams: Vec<(u16, u8)> =
            self.pmts.values().flat_map(|p| p.streams.iter().map(|s| (s.pid, s.stream_type))).collect();
        let psi = |pid: u16| pid == 0 || self.pmt_pids.contains_key(&pid);
        let scte35: BTreeSet<u16> =
            streams.iter().filter(|(pid, t)| *t == STREAM_TYPE_SCTE35 && !psi(*pid)).map(|(p, _)| *p).collect();
        self.video = streams.iter().filter(|(pid, t)| VIDEO_TYPES.contains(t) && !psi(*pid)).map(|(p, _)| *p).collect();
        self.scte35.retain(|pid, _| scte35.contains(pid));
        for pid in scte35 {
            self.scte35.entry(pid).or_default();
        }
        self.pcr = vec![false; 0x2000];
        for pmt in self.pmts.values() {
            self.pcr[usize::from(pmt.pcr_pid & 0x1fff)] = pmt.pcr_pid < 0x1fff;
        }
        self.watched = vec![false; 0x2000];
        for pid in self.pmt_pids.keys().chain(self.scte35.keys()).chain(&self.video) {
            self.watched[usize::from(*pid & 0x1fff)] = true;
        }
    }
}
