//! RTMP push outputs: the channel's H.264 and AAC, taken out of the
//! transport stream and sent as FLV video and audio messages to an RTMP
//! server (`connect`, `createStream`, `publish` as a live stream).
//!
//! The protocol (handshake, chunking, AMF0 commands) is rml_rtmp's; the TS
//! to FLV step is `stagebox_media::flv`. RTMP has no place for SCTE-35, so
//! cues do not go out on this output (its status says so). Like SRT, it
//! runs on its own task behind a bounded queue and reconnects with
//! back-off, starting live.

use super::backoff::Backoff;
use crate::status::{OutputCounters, OutputState};
use crate::url::RtmpUrl;
use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use stagebox_media::flv::{FlvMuxer, Tag, TagKind};
use stagebox_media::ts::{Demuxer, Event, STREAM_TYPE_H264};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// ADTS AAC (ISO/IEC 13818-7).
const STREAM_TYPE_AAC: u8 = 0x0f;

/// How long the connection and the publish handshake may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("RTMP connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("RTMP handshake: {0}")]
    Handshake(String),
    #[error("RTMP session: {0}")]
    Session(String),
    #[error("the server refused: {0}")]
    Refused(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

fn session_error(e: impl std::fmt::Display) -> Failure {
    Failure::Session(e.to_string())
}

/// Runs one RTMP output until its queue is closed (the output removed).
pub(super) async fn run(url: RtmpUrl, mut queue: mpsc::Receiver<Bytes>, counters: Arc<OutputCounters>) {
    let mut backoff = Backoff::default();
    loop {
        counters.set_state(OutputState::Connecting);
        let setup = tokio::time::timeout(SETUP_TIMEOUT, publish(&url));
        let result: Result<(), Failure> = match setup.await {
            Ok(Ok((socket, session))) => {
                backoff.reset();
                super::backoff::drain_stale(&mut queue, &counters);
                counters.connected();
                match stream(socket, session, &mut queue, &counters).await {
                    Ok(()) => return,
                    Err(e) => Err(e),
                }
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Failure::Timeout(SETUP_TIMEOUT)),
        };
        if let Err(e) = result {
            counters.error(&e);
            counters.set_state(OutputState::Retrying);
            tracing::warn!(error = %e, "RTMP output failed; retrying in {:?}", backoff.delay());
            if !backoff.wait_dropping(&mut queue, &counters).await {
                return;
            }
        }
    }
}

/// Writes what the session asked to send.
async fn send(socket: &mut TcpStream, results: Vec<ClientSessionResult>) -> Result<Vec<ClientSessionEvent>, Failure> {
    let mut events = Vec::new();
    for r in results {
        match r {
            ClientSessionResult::OutboundResponse(packet) => socket.write_all(&packet.bytes).await?,
            ClientSessionResult::RaisedEvent(e) => events.push(e),
            ClientSessionResult::UnhandleableMessageReceived(_) => {}
        }
    }
    Ok(events)
}

/// Connects, shakes hands, and publishes `url`'s stream key live.
async fn publish(url: &RtmpUrl) -> Result<(TcpStream, ClientSession), Failure> {
    let mut socket = TcpStream::connect((url.host.as_str(), url.port)).await?;
    socket.set_nodelay(true)?;
    let mut handshake = Handshake::new(PeerType::Client);
    let p0p1 = handshake.generate_outbound_p0_and_p1().map_err(|e| Failure::Handshake(e.to_string()))?;
    socket.write_all(&p0p1).await?;
    let mut buf = vec![0u8; 8192];
    let leftover = loop {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(Failure::Closed);
        }
        match handshake.process_bytes(&buf[..n]).map_err(|e| Failure::Handshake(e.to_string()))? {
            HandshakeProcessResult::InProgress { response_bytes } => socket.write_all(&response_bytes).await?,
            HandshakeProcessResult::Completed { response_bytes, remaining_bytes } => {
                socket.write_all(&response_bytes).await?;
                break remaining_bytes;
            }
        }
    };
    let (mut session, results) = ClientSession::new(ClientSessionConfig::new()).map_err(session_error)?;
    send(&mut socket, results).await?;
    let mut pending = leftover;
    let request = session.request_connection(url.app.clone()).map_err(session_error)?;
    send(&mut socket, vec![request]).await?;
    let mut published = false;
    loop {
        if !pending.is_empty() {
            let results = session.handle_input(&pending).map_err(session_error)?;
            pending.clear();
            for event in send(&mut socket, results).await? {
                match event {
                    ClientSessionEvent::ConnectionRequestAccepted => {
                        let r = session
                            .request_publishing(url.stream.clone(), PublishRequestType::Live)
                            .map_err(session_error)?;
                        send(&mut socket, vec![r]).await?;
                    }
                    ClientSessionEvent::ConnectionRequestRejected { description } => {
                        return Err(Failure::Refused(description));
                    }
                    ClientSessionEvent::PublishRequestAccepted => published = true,
                    _ => {}
                }
            }
        }
        if published {
            return Ok((socket, session));
        }
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(Failure::Closed);
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

/// Sends the queue's packets as FLV until the queue closes (Ok) or the
/// connection fails.
async fn stream(
    mut socket: TcpStream,
    mut session: ClientSession,
    queue: &mut mpsc::Receiver<Bytes>,
    counters: &OutputCounters,
) -> Result<(), Failure> {
    let mut demux = Demuxer::new();
    let mut flv = FlvMuxer::new();
    let mut buf = vec![0u8; 8192];
    loop {
        tokio::select! {
            datagram = queue.recv() => {
                let Some(datagram) = datagram else {
                    let r = session.stop_publishing().map_err(session_error)?;
                    send(&mut socket, r).await?;
                    let _ = socket.shutdown().await;
                    return Ok(());
                };
                let tags = tags(&mut demux, &mut flv, &datagram);
                let mut results = Vec::with_capacity(tags.len());
                for tag in tags {
                    let (data, at) = (Bytes::from(tag.body), RtmpTimestamp::new(tag.timestamp_ms));
                    let r = match tag.kind {
                        TagKind::Video => session.publish_video_data(data, at, false),
                        TagKind::Audio => session.publish_audio_data(data, at, false),
                    };
                    results.push(r.map_err(session_error)?);
                }
                send(&mut socket, results).await?;
                counters.sent((datagram.len() / 188) as u64, datagram.len());
            }
            read = socket.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Err(Failure::Closed);
                }
                let results = session.handle_input(&buf[..n]).map_err(session_error)?;
                send(&mut socket, results).await?;
            }
        }
    }
}

/// The FLV tags the packets in `datagram` complete: the first H.264 and
/// the first AAC stream of the programme.
fn tags(demux: &mut Demuxer, flv: &mut FlvMuxer, datagram: &[u8]) -> Vec<Tag> {
    let mut out = Vec::new();
    for event in demux.push(datagram) {
        let Event::Pes { pid, pes } = event else { continue };
        let stream_type = demux.pmts().values().flat_map(|p| &p.streams).find(|s| s.pid == pid).map(|s| s.stream_type);
        let Some(pts) = pes.pts else { continue };
        let made = match stream_type {
            Some(STREAM_TYPE_H264) => flv.video(&pes.payload, pts, pes.dts.unwrap_or(pts)),
            Some(STREAM_TYPE_AAC) => flv.audio(&pes.payload, pts),
            _ => continue,
        };
        match made {
            Ok(tags) => out.extend(tags),
            Err(e) => tracing::debug!("RTMP output skipped a PES on {pid}: {e}"),
        }
    }
    out
}
