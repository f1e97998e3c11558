//! Any bytes as a run of RTP datagrams (a length byte, then the datagram):
//! parsing never panics, and the reorder window hands out each sequence
//! number at most once, never more packets than it was given, and
//! accounts for every packet pushed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stagebox_media::rtp::{Reorder, parse};

fuzz_target!(|data: &[u8]| {
    let Some((&window, mut rest)) = data.split_first() else { return };
    let mut reorder = Reorder::new(usize::from(window % 64) + 1);
    let mut out = Vec::new();
    let mut pushed = 0u64;
    let mut now = std::time::Instant::now();
    while let Some((&len, tail)) = rest.split_first() {
        let (datagram, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        if let Ok(p) = parse(datagram) {
            // Tag each payload with its sequence number to check order.
            let mut tagged = p.header.sequence.to_be_bytes().to_vec();
            tagged.extend(p.payload);
            reorder.push(p.header.sequence, &tagged, |p| out.push(p.to_vec()));
            // Time moves on by the RTP timestamp's low byte, in ms.
            now += std::time::Duration::from_millis(u64::from(p.header.timestamp & 0xff));
            reorder.expire(now, std::time::Duration::from_millis(50), |p| out.push(p.to_vec()));
            pushed += 1;
        }
    }
    reorder.flush(|p| out.push(p.to_vec()));
    let s = reorder.stats();
    assert_eq!(s.received, pushed);
    assert_eq!(s.delivered, out.len() as u64);
    assert!(s.delivered + s.duplicates + s.late <= pushed);
    // Between restarts, sequence numbers come out strictly increasing.
    if s.restarts == 0 {
        let seqs: Vec<u16> = out.iter().map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
        for w in seqs.windows(2) {
            assert!((w[1].wrapping_sub(w[0]) as i16) > 0, "{seqs:?}");
        }
    }
});
