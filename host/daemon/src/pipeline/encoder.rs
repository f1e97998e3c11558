//! The encoder node: a v210 video flow (and, when named, an audio flow of
//! the domain) encoded into an MPEG-TS program of H.264 and AAC
//! (`stagebox_codec::Encoder`), written to the node's own transport
//! stream flow, a grain per picture, and sent to a UDP or RTP destination
//! when one is given: a distributor channel's input on this box
//! (`rtp://127.0.0.1:PORT`), or the network.
//!
//! Timestamps are the grains' TAI: a picture's PTS is its grain's time and
//! the audio is read by sample index for the same span, so what the
//! packager makes of the stream can be placed on TAI (`clock=tai`).

use super::input::{Grain, Input};
use super::node::{NodeContext, NodeState, POLL};
use stagebox_codec::Encoder;
use stagebox_flow::{ContinuousReader, DiscreteWriter, FlowError, Rational, index_to_timestamp, timestamp_to_index};
use stagebox_io::url::UdpDestination;
use stagebox_media::rtp::{self, RtpHeader};
use stagebox_media::ts::PACKET_SIZE;
use std::net::UdpSocket;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The node, made and checked.
pub struct EncoderNode {
    /// The opened encoder.
    pub encoder: Encoder,
    /// The video's frame rate.
    pub rate: Rational,
    /// The audio flow and its sample rate.
    pub audio: Option<(ContinuousReader, Rational)>,
    /// Where the stream is sent, if anywhere.
    pub destination: Option<UdpDestination>,
}

/// Where a grain's transport packets go over the network.
struct Sender {
    socket: UdpSocket,
    destination: UdpDestination,
    sequence: u16,
    ssrc: u32,
}

impl Sender {
    fn open(destination: UdpDestination) -> Result<Sender, FlowError> {
        let failed = |e: std::io::Error| FlowError::InvalidArgument(format!("the encoder's socket: {e}"));
        let socket = UdpSocket::bind(("0.0.0.0", 0)).map_err(failed)?;
        socket.set_multicast_ttl_v4(destination.ttl).map_err(failed)?;
        socket.connect((destination.host.as_str(), destination.port)).map_err(failed)?;
        Ok(Sender { socket, destination, sequence: 0, ssrc: rand::random() })
    }

    /// Sends `packets` in datagrams of the destination's size, stamped
    /// (RTP) with the grain's time.
    fn send(&mut self, packets: &[u8], tai_ns: u64) -> std::io::Result<()> {
        let timestamp = stagebox_media::ts::ns_to_ticks(tai_ns) as u32;
        for chunk in packets.chunks(PACKET_SIZE * self.destination.packets_per_datagram) {
            if self.destination.rtp {
                let header =
                    RtpHeader { marker: false, payload_type: 33, sequence: self.sequence, timestamp, ssrc: self.ssrc };
                self.sequence = self.sequence.wrapping_add(1);
                self.socket.send(&rtp::write(&header, chunk))?;
            } else {
                self.socket.send(chunk)?;
            }
        }
        Ok(())
    }
}

/// Reads the audio for one picture: samples from `from` up to the next
/// picture's time, waiting at most `wait` for them. Samples not there in
/// time (no writer, or one running late) are left out, and the encoder
/// fills the gap with silence when later samples come.
fn audio_for(reader: &ContinuousReader, from: u64, until: u64, wait: Duration) -> Option<Vec<Vec<f32>>> {
    let count = until.checked_sub(from).filter(|c| *c > 0)?;
    let view = reader.wait(until - 1, count, wait).ok()?;
    let mut channels = Vec::new();
    for channel in 0..reader.channels() {
        let mut samples = Vec::with_capacity(count as usize);
        view.read_f32(channel, &mut samples).ok()?;
        channels.push(samples);
    }
    Some(channels)
}

/// Encode failures, reported once per run of them: a failure is counted
/// each time, but only the first of a run goes to the event stream and the
/// audit log, so a stream that keeps failing floods neither.
#[derive(Default)]
struct Failures {
    failing: bool,
}

impl Failures {
    fn failed(&mut self, ctx: &NodeContext, what: &str, error: &stagebox_codec::CodecError) {
        ctx.status.failures.fetch_add(1, Relaxed);
        if !std::mem::replace(&mut self.failing, true) {
            let message = format!("{what}: {error}");
            ctx.report("node.failed", NodeState::Running, &message, serde_json::json!({ "kind": "encode" }));
        }
    }

    fn succeeded(&mut self) {
        self.failing = false;
    }
}

/// Runs the node until asked to stop.
pub fn run(
    ctx: &NodeContext,
    mut node: EncoderNode,
    mut input: Input,
    mut writer: DiscreteWriter,
) -> Result<(), FlowError> {
    let mut sender = node.destination.take().map(Sender::open).transpose()?;
    let period = Duration::from_secs_f64(1.0 / node.rate.as_f64());
    // The next audio sample to read.
    let mut cursor: Option<u64> = None;
    let mut failures = Failures::default();
    ctx.status.set_state(NodeState::Running);
    while !ctx.stopping() {
        let Some(grain) = input.next(POLL, &ctx.status) else { continue };
        if grain.invalid {
            // Nothing to encode: the picture before it stays on screen.
            continue;
        }
        if let Err(e) = node.encoder.video(&grain.data, grain.timestamp) {
            failures.failed(ctx, "encoding a picture", &e);
            continue;
        }
        failures.succeeded();
        if let Some((reader, audio_rate)) = &node.audio {
            let span = AudioSpan { rate: *audio_rate, video_rate: node.rate, wait: period * 2 };
            if let Err(e) = span.encode(&mut node.encoder, reader, &grain, &mut cursor) {
                failures.failed(ctx, "encoding audio", &e);
            }
        }
        let packets = node.encoder.take();
        write(&mut writer, &grain, &packets)?;
        ctx.status.grains_out.fetch_add(1, Relaxed);
        ctx.status.last_index.store(grain.index, Relaxed);
        if let Some(sender) = &mut sender
            && let Err(e) = sender.send(&packets, grain.timestamp)
        {
            tracing::debug!(node = %ctx.node, error = %e, "the encoder's send failed");
        }
    }
    Ok(())
}

/// How the audio that goes with a picture is read.
struct AudioSpan {
    /// The audio's sample rate and the video's frame rate.
    rate: Rational,
    video_rate: Rational,
    /// How long to wait for samples not yet written.
    wait: Duration,
}

impl AudioSpan {
    /// Encodes the audio from `cursor` (the next sample; at first, the
    /// picture's own time) up to the next picture's time.
    fn encode(
        &self,
        encoder: &mut Encoder,
        reader: &ContinuousReader,
        grain: &Grain,
        cursor: &mut Option<u64>,
    ) -> Result<(), stagebox_codec::CodecError> {
        let next_picture =
            index_to_timestamp(timestamp_to_index(grain.timestamp, self.video_rate) + 1, self.video_rate);
        let until = timestamp_to_index(next_picture, self.rate);
        let from = cursor.unwrap_or_else(|| timestamp_to_index(grain.timestamp, self.rate));
        if until <= from {
            return Ok(());
        }
        *cursor = Some(until);
        let Some(channels) = audio_for(reader, from, until, self.wait) else { return Ok(()) };
        let slices: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
        encoder.audio(from, &slices)
    }
}

/// The grain's transport packets as the output grain at its index.
fn write(writer: &mut DiscreteWriter, grain: &Grain, packets: &[u8]) -> Result<(), FlowError> {
    let mut out = writer.grant(grain.index)?;
    // More than the grain holds is refused here, and the node fails.
    out.set_len(packets.len())?;
    out.payload_mut()[..packets.len()].copy_from_slice(packets);
    out.set_timestamp(grain.timestamp);
    out.commit()
}
