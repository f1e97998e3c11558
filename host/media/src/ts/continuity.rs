//! Continuity counters (ISO/IEC 13818-1 §2.4.3.3): each PID's 4-bit
//! counter advances by one on every packet with a payload; one repeat is a
//! duplicate, anything else outside a signalled discontinuity means packets
//! were lost.

use super::packet::{NULL_PID, PACKET_SIZE, SYNC_BYTE};

/// What one packet's counter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// The next counter, the first on its PID, a signalled discontinuity,
    /// or a packet without payload repeating the last counter.
    InOrder,
    /// The same counter again: a duplicate packet (§2.4.3.3 allows one).
    Duplicate,
    /// A jump: packets were lost before this one (or a packet without
    /// payload does not repeat the last counter).
    Gap,
}

/// Follows one PID's counter: `last` is the counter of the last payload
/// packet (None before the first).
pub fn follow(last: &mut Option<u8>, continuity: u8, has_payload: bool, discontinuity: bool) -> Continuity {
    if !has_payload {
        // The counter stays: a packet without payload repeats the last one.
        return match *last {
            Some(l) if !discontinuity && continuity != l => Continuity::Gap,
            _ => Continuity::InOrder,
        };
    }
    let verdict = match *last {
        Some(l) if !discontinuity && continuity == l => return Continuity::Duplicate,
        Some(l) if !discontinuity && continuity != (l + 1) & 0x0f => Continuity::Gap,
        _ => Continuity::InOrder,
    };
    *last = Some(continuity);
    verdict
}

/// Counts continuity errors across every PID of a stream, reading only
/// packet headers: cheap enough to run on every packet an input receives.
#[derive(Debug, Clone)]
pub struct ContinuityCheck {
    last: Vec<Option<u8>>,
    errors: u64,
}

impl Default for ContinuityCheck {
    fn default() -> Self {
        ContinuityCheck { last: vec![None; 8192], errors: 0 }
    }
}

impl ContinuityCheck {
    /// A check that has seen nothing.
    pub fn new() -> ContinuityCheck {
        ContinuityCheck::default()
    }

    /// Gaps seen so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Forgets every PID's counter (the source changed on purpose).
    pub fn reset(&mut self) {
        self.last.iter_mut().for_each(|l| *l = None);
    }

    /// Checks one packet; bytes without a sync byte and null packets are
    /// ignored.
    pub fn check(&mut self, packet: &[u8; PACKET_SIZE]) -> Continuity {
        if packet[0] != SYNC_BYTE || packet[1] & 0x80 != 0 {
            return Continuity::InOrder; // not a packet, or known damaged
        }
        let pid = u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
        if pid == NULL_PID {
            return Continuity::InOrder;
        }
        let control = (packet[3] >> 4) & 0x3;
        let discontinuity = control & 0x2 != 0 && packet[4] > 0 && packet[5] & 0x80 != 0;
        let verdict = follow(&mut self.last[usize::from(pid)], packet[3] & 0x0f, control & 0x1 != 0, discontinuity);
        if verdict == Continuity::Gap {
            self.errors += 1;
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pid: u16, cc: u8) -> [u8; PACKET_SIZE] {
        let mut p = [0xffu8; PACKET_SIZE];
        p[0] = SYNC_BYTE;
        p[1] = (pid >> 8) as u8;
        p[2] = pid as u8;
        p[3] = 0x10 | cc;
        p
    }

    #[test]
    fn counts_gaps_not_duplicates_or_wraps() {
        let mut check = ContinuityCheck::new();
        let verdicts: Vec<Continuity> =
            [14u8, 15, 0, 0, 1, 3].iter().map(|&cc| check.check(&packet(0x100, cc))).collect();
        use Continuity::*;
        assert_eq!(verdicts, [InOrder, InOrder, InOrder, Duplicate, InOrder, Gap]);
        // Another PID has its own counter.
        assert_eq!(check.check(&packet(0x101, 9)), InOrder);
        assert_eq!(check.errors(), 1);
    }

    #[test]
    fn a_packet_without_payload_repeats_the_counter() {
        let mut check = ContinuityCheck::new();
        check.check(&packet(0x100, 3));
        let mut p = packet(0x100, 3);
        p[3] = 0x20 | 3; // adaptation field only
        p[4] = 183;
        p[5] = 0x10; // PCR flag
        assert_eq!(check.check(&p), Continuity::InOrder);
        p[3] = 0x20 | 4;
        assert_eq!(check.check(&p), Continuity::Gap);
        assert_eq!(check.check(&packet(0x100, 4)), Continuity::InOrder);
    }

    #[test]
    fn a_signalled_discontinuity_is_not_a_gap() {
        let mut check = ContinuityCheck::new();
        check.check(&packet(0x100, 3));
        let mut p = packet(0x100, 9);
        p[3] = 0x30 | 9; // adaptation field and payload
        p[4] = 1;
        p[5] = 0x80;
        assert_eq!(check.check(&p), Continuity::InOrder);
        assert_eq!(check.check(&packet(0x100, 10)), Continuity::InOrder);
        assert_eq!(check.errors(), 0);
    }
}
