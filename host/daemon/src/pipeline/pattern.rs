//! The test-pattern source: 75% colour bars in v210 with a white line that
//! moves down one line per frame, written on the grain clock (grain `n`
//! at `n / rate` seconds of TAI), so any reader knows which grain is now.

use super::node::{NodeContext, paced};
use stagebox_flow::pattern::{v210_bars, v210_mark_line};
use stagebox_flow::{DiscreteWriter, FlowError, Rational};

/// The frame a test pattern of `width` × `height` writes as grain `index`.
pub fn frame(bars: &[u8], width: u32, height: u32, index: u64, out: &mut [u8]) {
    let n = bars.len().min(out.len());
    out[..n].copy_from_slice(&bars[..n]);
    v210_mark_line(out, width, (index % u64::from(height)) as u32);
}

/// Writes frames until asked to stop.
pub fn run(
    ctx: &NodeContext,
    mut writer: DiscreteWriter,
    width: u32,
    height: u32,
    rate: Rational,
) -> Result<(), FlowError> {
    let bars = v210_bars(width, height);
    paced(ctx, rate, |index| {
        let mut grain = writer.grant(index)?;
        frame(&bars, width, height, index, grain.payload_mut());
        grain.commit()
    })
}
