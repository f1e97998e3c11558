//! Keeping a transport stream's continuity counters right across a switch
//! of source (a failover to the backup input): each PID's counter carries
//! on from the last packet sent, so no receiver sees a continuity error,
//! and the first packet carrying a PCR on each PID after the switch is
//! marked discontinuity_indicator: that is where the new source's time
//! base starts (ISO/IEC 13818-1 §2.4.3.5).

use super::packet::{NULL_PID, PACKET_SIZE, SYNC_BYTE};

/// Rewrites continuity counters of the packets that go out.
#[derive(Debug, Clone)]
pub struct Restamper {
    /// The counter the next payload packet of each PID gets.
    next: Vec<Option<u8>>,
    /// PIDs whose next PCR gets the discontinuity_indicator.
    flag: Vec<bool>,
}

impl Default for Restamper {
    fn default() -> Self {
        Restamper { next: vec![None; 8192], flag: vec![false; 8192] }
    }
}

impl Restamper {
    /// A restamper that has sent nothing yet.
    pub fn new() -> Restamper {
        Restamper::default()
    }

    /// Packets from now on come from another source.
    pub fn switch(&mut self) {
        for (flag, next) in self.flag.iter_mut().zip(&self.next) {
            *flag = next.is_some();
        }
    }

    /// Rewrites one packet about to go out. Bytes that are not a packet
    /// (no sync byte) are left alone.
    pub fn restamp(&mut self, packet: &mut [u8; PACKET_SIZE]) {
        if packet[0] != SYNC_BYTE {
            return;
        }
        let pid = usize::from(u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff);
        if pid == usize::from(NULL_PID) {
            return;
        }
        let control = (packet[3] >> 4) & 0x3;
        let has_adaptation = control & 0x2 != 0;
        // adaptation_field_length > 0 and PCR_flag set.
        if has_adaptation && self.flag[pid] && packet[4] > 0 && packet[5] & 0x10 != 0 {
            packet[5] |= 0x80; // discontinuity_indicator
            self.flag[pid] = false;
        }
        if control & 0x1 == 0 {
            // No payload: the counter does not advance, and the packet
            // repeats the last one sent (§2.4.3.3; ffmpeg checks this).
            if let Some(next) = self.next[pid] {
                packet[3] = (packet[3] & 0xf0) | (next.wrapping_sub(1) & 0x0f);
            }
            return;
        }
        let cc = match self.next[pid] {
            Some(cc) => cc,
            None => packet[3] & 0x0f,
        };
        packet[3] = (packet[3] & 0xf0) | cc;
        self.next[pid] = Some((cc + 1) & 0x0f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet with a payload, and with an adaptation field carrying a
    /// PCR when `pcr`.
    fn packet(pid: u16, cc: u8, pcr: bool) -> [u8; PACKET_SIZE] {
        let mut p = [0xffu8; PACKET_SIZE];
        p[0] = SYNC_BYTE;
        p[1] = (pid >> 8) as u8;
        p[2] = pid as u8;
        p[3] = if pcr { 0x30 } else { 0x10 } | cc;
        if pcr {
            p[4] = 7;
            p[5] = 0x10;
        }
        p
    }

    #[test]
    fn counters_carry_on_across_a_switch_and_the_first_pcr_is_flagged() {
        let mut r = Restamper::new();
        let mut out = Vec::new();
        for cc in 5..8 {
            let mut p = packet(0x100, cc, false);
            r.restamp(&mut p);
            out.push(p);
        }
        r.switch();
        // The backup's counters start elsewhere; its first packet has no
        // PCR, its second and third do.
        for (cc, af) in [(12, false), (13, true), (14, true)] {
            let mut p = packet(0x100, cc, af);
            r.restamp(&mut p);
            out.push(p);
        }
        let ccs: Vec<u8> = out.iter().map(|p| p[3] & 0x0f).collect();
        assert_eq!(ccs, [5, 6, 7, 8, 9, 10]);
        let flagged: Vec<bool> = out.iter().map(|p| p[3] & 0x20 != 0 && p[5] & 0x80 != 0).collect();
        assert_eq!(flagged, [false, false, false, false, true, false]);
        // A PID first seen after the switch keeps its own counter, unflagged.
        let mut p = packet(0x200, 3, true);
        r.restamp(&mut p);
        assert_eq!((p[3] & 0x0f, p[5] & 0x80), (3, 0));
        // A packet with only an adaptation field (a PCR) repeats the last
        // counter sent on its PID, whatever the source put there.
        let mut p = packet(0x100, 2, true);
        p[3] = 0x20 | 2;
        r.restamp(&mut p);
        assert_eq!(p[3], 0x20 | 10);
    }
}
