//! SRT outputs, caller or listener, on srt-tokio.
//!
//! srt-tokio takes each message with the instant it stands for, and that
//! instant becomes the packet's SRT timestamp, from which the receiver
//! schedules delivery (TSBPD: timestamp + latency). Messages given one and
//! the same instant collapse into one delivery slot, and a receiver such as
//! libsrt then drops all but the first as too late. So every datagram here
//! carries the instant it left the channel, and a burst (several datagrams
//! read from the input at once) is spread out: each instant is at least
//! [`SPACING`] after the previous one, which keeps the order and the real
//! pace (an 8 Mb/s stream sends a datagram every 1.3 ms).

use super::backoff::{Backoff, drain_stale};
use crate::status::{OutputCounters, OutputState};
use crate::url::{SrtMode, SrtUrl};
use bytes::Bytes;
use futures_util::SinkExt;
use srt_tokio::SrtSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The least time between two messages' instants.
pub const SPACING: Duration = Duration::from_micros(50);

/// How long a caller tries one connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

async fn connect(url: &SrtUrl, counters: &OutputCounters) -> std::io::Result<SrtSocket> {
    let mut builder = SrtSocket::builder().latency(url.latency);
    if let Some(passphrase) = &url.passphrase {
        // Both were checked when the URL was parsed (10–79 characters;
        // 16, 24 or 32), which is what srt-tokio would otherwise panic on.
        builder = builder.encryption(u16::from(url.key_size), passphrase.clone());
    }
    match &url.mode {
        SrtMode::Caller { host, port } => {
            counters.set_state(OutputState::Connecting);
            let address = tokio::net::lookup_host((host.as_str(), *port))
                .await?
                .next()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} did not resolve")))?;
            let call = builder.call(address, url.stream_id.as_deref());
            tokio::time::timeout(CONNECT_TIMEOUT, call)
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer from {address}")))?
        }
        SrtMode::Listener { address } => {
            counters.set_state(OutputState::Listening);
            builder.listen_on(*address).await
        }
    }
}

/// Runs one SRT output until its queue is closed (the output removed).
pub(super) async fn run(url: SrtUrl, mut queue: mpsc::Receiver<Bytes>, counters: Arc<OutputCounters>) {
    let mut backoff = Backoff::default();
    loop {
        let mut socket = match connect(&url, &counters).await {
            Ok(socket) => socket,
            Err(e) => {
                counters.error(&e);
                counters.set_state(OutputState::Retrying);
                tracing::warn!(error = %e, "SRT output cannot connect; retrying in {:?}", backoff.delay());
                if !backoff.wait_dropping(&mut queue, &counters).await {
                    return;
                }
                continue;
            }
        };
        // Live: start from now, not from what waited for the connection.
        drain_stale(&mut queue, &counters);
        counters.connected();
        backoff.reset();
        let mut last = Instant::now();
        let failure = loop {
            let Some(datagram) = queue.recv().await else {
                let _ = socket.close().await;
                return;
            };
            let at = Instant::now().max(last + SPACING);
            last = at;
            let len = datagram.len();
            match socket.send((at, datagram)).await {
                Ok(()) => counters.sent((len / 188) as u64, len),
                Err(e) => break e,
            }
        };
        counters.error(&failure);
        counters.set_state(OutputState::Retrying);
        tracing::warn!(error = %failure, "SRT output lost its connection; reconnecting");
    }
}
