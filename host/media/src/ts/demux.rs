//! Following a transport stream: sync, continuity, PAT, PMTs, and the PES
//! packets and sections of every elementary stream.

use super::STREAM_TYPE_SCTE35;
use super::continuity::{Continuity, follow};
use super::packet::{PACKET_SIZE, Packet, SYNC_BYTE};
use super::pes::{Pes, PesAssembler};
use super::psi::{Pat, Pmt, SectionAssembler};
use std::collections::BTreeMap;

/// Counters of what the demuxer saw and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TsStats {
    /// Packets parsed.
    pub packets: u64,
    /// Times sync was lost (a packet did not start with 0x47).
    pub resyncs: u64,
    /// Bytes skipped while out of sync.
    pub skipped_bytes: u64,
    /// Packets with transport_error_indicator set, dropped.
    pub transport_errors: u64,
    /// Continuity counter jumps (packets lost) outside a signalled discontinuity.
    pub continuity_errors: u64,
    /// Scrambled packets, dropped.
    pub scrambled: u64,
    /// Malformed packets, sections (CRC included) and PES packets.
    pub malformed: u64,
}

/// What the demuxer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new or changed PAT.
    Pat(Pat),
    /// A new or changed PMT, on its PID.
    Pmt {
        /// The PMT's PID.
        pid: u16,
        /// The table.
        pmt: Pmt,
    },
    /// A PES packet of an elementary stream.
    Pes {
        /// The stream's PID.
        pid: u16,
        /// The packet.
        pes: Pes,
    },
    /// A section of a section-carrying stream (SCTE-35, stream_type 0x86).
    Section {
        /// The stream's PID.
        pid: u16,
        /// The section, table_id to CRC.
        section: Vec<u8>,
    },
}

enum Carrier {
    Psi(SectionAssembler),
    Pes(PesAssembler),
}

struct PidState {
    carrier: Carrier,
    /// The stream's type from its PMT (None for PSI).
    stream_type: Option<u8>,
    continuity: Option<u8>,
}

/// Demultiplexes a transport stream given in chunks of any size.
#[derive(Default)]
pub struct Demuxer {
    /// Bytes of a packet cut by the end of the last chunk.
    carry: Vec<u8>,
    in_sync: bool,
    pat: Option<Pat>,
    pmts: BTreeMap<u16, Pmt>,
    pids: BTreeMap<u16, PidState>,
    stats: TsStats,
}

impl Demuxer {
    /// A demuxer that knows only the PAT's PID.
    pub fn new() -> Demuxer {
        let mut d = Demuxer::default();
        d.pids.insert(
            0,
            PidState { carrier: Carrier::Psi(SectionAssembler::default()), stream_type: None, continuity: None },
        );
        d
    }

    /// What was counted so far.
    pub fn stats(&self) -> TsStats {
        self.stats
    }

    /// The programs' map tables found so far, by PID.
    pub fn pmts(&self) -> &BTreeMap<u16, Pmt> {
        &self.pmts
    }

    /// Feeds bytes; returns what they completed.
    pub fn push(&mut self, data: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(data);
        let used = self.scan(&buf, false, &mut events);
        self.carry = buf.split_off(used);
        events
    }

    /// Ends the stream: the bytes held back and the PES packets still being
    /// assembled are handed out.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let buf = std::mem::take(&mut self.carry);
        let used = self.scan(&buf, true, &mut events);
        self.stats.skipped_bytes += (buf.len() - used) as u64;
        for (&pid, state) in &mut self.pids {
            if let Carrier::Pes(a) = &mut state.carrier {
                let mut out = Vec::new();
                if a.finish(&mut out).is_err() {
                    self.stats.malformed += 1;
                }
                events.extend(out.into_iter().map(|pes| Event::Pes { pid, pes }));
            }
        }
        events
    }

    /// Reads the packets in `buf`; returns the bytes used. Out of sync, a
    /// 0x47 counts as a packet start only when another follows one packet
    /// later, so the result does not depend on how the stream was cut into
    /// chunks; at the end of the stream, a last packet needs no follower.
    fn scan(&mut self, buf: &[u8], at_end: bool, events: &mut Vec<Event>) -> usize {
        let mut at = 0;
        while buf.len() - at >= PACKET_SIZE {
            if self.in_sync && buf[at] != SYNC_BYTE {
                // Sync lost: counted once, however long the search.
                self.stats.resyncs += 1;
                self.in_sync = false;
            }
            if !self.in_sync {
                let confirmed = |i: usize| match buf.get(i + PACKET_SIZE) {
                    Some(&b) => b == SYNC_BYTE,
                    None => at_end,
                };
                let from = at;
                let mut found = None;
                for i in at..=buf.len() - PACKET_SIZE {
                    if buf[i] != SYNC_BYTE {
                        continue;
                    }
                    if buf.len() <= i + PACKET_SIZE && !at_end {
                        // Cannot tell yet: wait for more bytes.
                        found = Some((i, false));
                        break;
                    }
                    if confirmed(i) {
                        found = Some((i, true));
                        break;
                    }
                }
                let (i, ok) = found.unwrap_or((buf.len() - PACKET_SIZE + 1, false));
                self.stats.skipped_bytes += (i - from) as u64;
                at = i;
                if !ok {
                    return at;
                }
                self.in_sync = true;
            }
            let mut packet = [0u8; PACKET_SIZE];
            packet.copy_from_slice(&buf[at..at + PACKET_SIZE]);
            at += PACKET_SIZE;
            self.packet(&packet, events);
        }
        at
    }

    fn packet(&mut self, bytes: &[u8; PACKET_SIZE], events: &mut Vec<Event>) {
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        self.stats.packets += 1;
        let Some(state) = self.pids.get_mut(&packet.pid) else { return };
        if packet.transport_error {
            self.stats.transport_errors += 1;
            reset(state);
            return;
        }
        if packet.scrambling != 0 {
            self.stats.scrambled += 1;
            return;
        }
        if !packet.has_payload {
            return;
        }
        let discontinuity = packet.adaptation.is_some_and(|a| a.discontinuity);
        match follow(&mut state.continuity, packet.continuity, true, discontinuity) {
            Continuity::Duplicate => return,
            Continuity::Gap => {
                self.stats.continuity_errors += 1;
                reset(state);
            }
            Continuity::InOrder => {}
        }
        let pid = packet.pid;
        match &mut state.carrier {
            Carrier::Psi(a) => {
                let mut sections = Vec::new();
                if a.push(packet.payload, packet.unit_start, &mut sections).is_err() {
                    self.stats.malformed += 1;
                }
                let stream_type = state.stream_type;
                for section in sections {
                    self.section(pid, stream_type, section, events);
                }
            }
            Carrier::Pes(a) => {
                let mut out = Vec::new();
                if a.push(packet.payload, packet.unit_start, &mut out).is_err() {
                    self.stats.malformed += 1;
                }
                events.extend(out.into_iter().map(|pes| Event::Pes { pid, pes }));
            }
        }
    }

    fn section(&mut self, pid: u16, stream_type: Option<u8>, section: Vec<u8>, events: &mut Vec<Event>) {
        if stream_type.is_some() {
            events.push(Event::Section { pid, section });
            return;
        }
        if pid == 0 {
            match Pat::parse(&section) {
                Ok(pat) if self.pat.as_ref() != Some(&pat) => {
                    for &(program, pmt_pid) in &pat.programs {
                        if program != 0 {
                            self.pids.entry(pmt_pid).or_insert_with(|| PidState {
                                carrier: Carrier::Psi(SectionAssembler::default()),
                                stream_type: None,
                                continuity: None,
                            });
                        }
                    }
                    self.pat = Some(pat.clone());
                    events.push(Event::Pat(pat));
                }
                Ok(_) => {}
                Err(_) => self.stats.malformed += 1,
            }
            return;
        }
        if section.first() != Some(&0x02) {
            return; // other tables on a PMT PID
        }
        match Pmt::parse(&section) {
            Ok(pmt) if self.pmts.get(&pid) != Some(&pmt) => {
                for s in &pmt.streams {
                    if s.pid == 0 || self.pids.get(&s.pid).is_some_and(|p| p.stream_type.is_none()) {
                        continue; // never let a PMT take over a PSI PID
                    }
                    let carrier = if s.stream_type == STREAM_TYPE_SCTE35 {
                        Carrier::Psi(SectionAssembler::default())
                    } else {
                        Carrier::Pes(PesAssembler::default())
                    };
                    let same = self.pids.get(&s.pid).is_some_and(|p| p.stream_type == Some(s.stream_type));
                    if !same {
                        self.pids
                            .insert(s.pid, PidState { carrier, stream_type: Some(s.stream_type), continuity: None });
                    }
                }
                self.pmts.insert(pid, pmt.clone());
                events.push(Event::Pmt { pid, pmt });
            }
            Ok(_) => {}
            Err(_) => self.stats.malformed += 1,
        }
    }
}

fn reset(state: &mut PidState) {
    match &mut state.carrier {
        Carrier::Psi(a) => a.reset(),
        Carrier::Pes(a) => a.reset(),
    }
}
