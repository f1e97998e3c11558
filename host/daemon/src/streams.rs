//! Serving the channels' HLS outputs (docs/streaming.md):
//!
//! - `GET /streams/{channel}/master.m3u8`: every HLS output of the channel
//!   that has a segment, as a variant with its bandwidth, codecs and
//!   resolution, and the first CMAF output's audio as the audio group;
//! - `GET /streams/{channel}/manifest.mpd`: the channel's CMAF outputs as
//!   a live DASH manifest;
//! - `GET /streams/{channel}/{output}/index.m3u8`: the live media playlist
//!   (with CMAF, the video's), `audio.m3u8` a CMAF output's audio and
//!   `subtitles.m3u8` its captions (WebVTT);
//! - `GET /streams/{channel}/{output}/{segment}`: a segment (or a CMAF init
//!   segment, or an LL-HLS part) in its window.
//!
//! LL-HLS: a media playlist asked for with `_HLS_msn` (and `_HLS_part`) is
//! held until that segment (part) is listed, and a part asked for before
//! it exists (the preload hint) until it does, for at most three target
//! durations.
//!
//! Players carry no API token, so streams are served without one, as an
//! HLS origin is; the API stays behind its login. They are served on the
//! API's HTTPS address, and on plain HTTP only when `streams_http_listen`
//! is set (closed networks), where nothing but streams is served. CORS is
//! off unless `streams_cors_origins` names the origins of players' pages.

use crate::api::{Problem, Shared};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use stagebox_io::output::HlsStream;
use stagebox_io::output::hls::DashPart;
use stagebox_media::dash::Mpd;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// Playlists change with every segment: caches must ask again.
const PLAYLIST_CACHE: &str = "no-cache";
/// A segment's name is never reused with other content (it carries the
/// output's start time), so it may be cached for as long as anyone likes.
const SEGMENT_CACHE: &str = "public, max-age=86400, immutable";
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
const MPD_TYPE: &str = "application/dash+xml";
/// The audio group of a master playlist: one audio rendition, the first
/// CMAF output's (every output of a channel carries the same audio).
const AUDIO_GROUP: &str = "audio";

/// The subtitles group of a master playlist: the first CMAF output's
/// captions.
const SUBTITLES_GROUP: &str = "subs";

/// A segment's MIME type, by its name: TS, WebVTT, or a CMAF track's (the
/// packager names audio `…-aN.m4s` and `…-a.mp4`, captions `…-tN.m4s` and
/// `…-t.mp4`).
fn segment_type(name: &str) -> &'static str {
    let track = |letter: &str| {
        name.ends_with(&format!("-{letter}.mp4"))
            || name.rsplit_once(&format!("-{letter}")).is_some_and(|(_, n)| n.ends_with(".m4s"))
    };
    if name.ends_with(".ts") {
        "video/mp2t"
    } else if name.ends_with(".vtt") {
        "text/vtt; charset=utf-8"
    } else if track("a") {
        "audio/mp4"
    } else if track("t") {
        "application/mp4"
    } else {
        "video/mp4"
    }
}

/// The streams' routes, with their CORS policy.
pub fn router(origins: &[String]) -> Router<Shared> {
    let router = Router::new()
        .route("/streams/{channel}/master.m3u8", get(master))
        .route("/streams/{channel}/manifest.mpd", get(mpd))
        .route("/streams/{channel}/{output}/index.m3u8", get(media))
        .route("/streams/{channel}/{output}/audio.m3u8", get(audio))
        .route("/streams/{channel}/{output}/subtitles.m3u8", get(subtitles))
        .route("/streams/{channel}/{output}/{segment}", get(segment));
    match crate::api::cors(origins, &[Method::GET, Method::HEAD], &[]) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

fn missing(what: String) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", what)
}

fn body(content: impl IntoResponse, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = content.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

async fn master(State(state): State<Shared>, Path(channel): Path<String>) -> Result<Response, Problem> {
    let streams = state.distributor.hls_all(&channel).ok_or_else(|| missing(format!("no channel {channel:?} runs")))?;
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let audio = streams.iter().find_map(|(output, s)| s.audio_channels().map(|c| (output, c)));
    if let Some((output, channels)) = audio {
        let _ = writeln!(
            text,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AUDIO_GROUP}\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{channels}\",URI=\"{output}/audio.m3u8\""
        );
    }
    let subtitles = streams.iter().find(|(_, s)| s.subtitles_playlist().is_some()).map(|(output, _)| output);
    if let Some(output) = subtitles {
        let _ = writeln!(
            text,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{SUBTITLES_GROUP}\",NAME=\"Captions\",DEFAULT=NO,AUTOSELECT=YES,URI=\"{output}/subtitles.m3u8\""
        );
    }
    let mut variants = 0;
    for (output, stream) in &streams {
        let Some((peak, average)) = stream.bandwidth() else { continue };
        let variant = stream.variant();
        let codecs = variant.codecs.map(|c| format!(",CODECS=\"{c}\"")).unwrap_or_default();
        let resolution = variant.resolution.map(|(w, h)| format!(",RESOLUTION={w}x{h}")).unwrap_or_default();
        // A CMAF variant's audio is in the group; a TS variant carries its
        // own.
        let mut group = String::new();
        if stream.is_cmaf() && audio.is_some() {
            group.push_str(&format!(",AUDIO=\"{AUDIO_GROUP}\""));
        }
        if stream.is_cmaf() && subtitles.is_some() {
            group.push_str(&format!(",SUBTITLES=\"{SUBTITLES_GROUP}\""));
        }
        let (peak, average) = (peak.max(1), average.max(1));
        let _ =
            writeln!(text, "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average}{codecs}{resolution}{group}");
        let _ = writeln!(text, "{output}/index.m3u8");
        variants += 1;
    }
    if variants == 0 {
        let why = if streams.is_empty() { "has no HLS output" } else { "has no HLS segment yet" };
        return Err(missing(format!("channel {channel:?} {why}")));
    }
    Ok(body(text, PLAYLIST_TYPE, PLAYLIST_CACHE))
}

/// A running HLS output's stream.
fn output_stream(state: &Shared, channel: &str, output: &str) -> Result<Arc<HlsStream>, Problem> {
    state
        .distributor
        .hls(channel, output)
        .ok_or_else(|| missing(format!("channel {channel:?} runs no HLS output {output:?}")))
}

/// One of an output's media playlists, `which`, once its first segment
/// is out (`what` names it in the 404).
/// A blocking playlist reload (LL-HLS): answer once segment `_HLS_msn`
/// (and its part `_HLS_part`) is listed.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Reload {
    #[serde(rename = "_HLS_msn")]
    msn: Option<u64>,
    #[serde(rename = "_HLS_part")]
    part: Option<usize>,
}

/// Waits until `ready` holds for `stream`, woken by each publication, for
/// at most three target durations (RFC 8216bis §6.2.5.2).
async fn hold(stream: &HlsStream, ready: impl Fn(&HlsStream) -> bool) -> bool {
    let mut updates = stream.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3 * stream.target_s().max(1));
    loop {
        if ready(stream) {
            return true;
        }
        match tokio::time::timeout_at(deadline, updates.changed()).await {
            Ok(Ok(())) => {}
            // Timed out, or the output is gone.
            _ => return ready(stream),
        }
    }
}

/// Which playlist of an output: how to read it, and whether a blocking
/// reload follows the audio's progress rather than the main playlist's.
type Which = (fn(&HlsStream) -> Option<Arc<str>>, bool);

/// One of an output's media playlists, `which` (`audio` says which
/// progress a blocking reload follows), once its first segment or part is
/// out (`what` names it in the 404).
async fn playlist(
    state: &Shared,
    (channel, output): (String, String),
    reload: Reload,
    (which, audio): Which,
    what: &str,
) -> Result<Response, Problem> {
    let stream = output_stream(state, &channel, &output)?;
    if let Some(msn) = reload.msn {
        let (next, _) = stream.progress(audio);
        if msn > next + 2 {
            let why = format!("_HLS_msn={msn} is more than two segments ahead of {next}");
            return Err(Problem::new(StatusCode::BAD_REQUEST, "Too far ahead", why));
        }
        let ready = |s: &HlsStream| {
            let (next, parts) = s.progress(audio);
            next > msn || (next == msn && reload.part.is_some_and(|p| parts > p))
        };
        if !hold(&stream, ready).await {
            let why = format!("segment {msn} of {channel}/{output} did not come within three target durations");
            return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Not yet", why));
        }
    }
    let text = which(&stream).ok_or_else(|| missing(format!("HLS output {channel}/{output} has no {what} yet")))?;
    Ok(body(text.to_string(), PLAYLIST_TYPE, PLAYLIST_CACHE))
}

async fn media(
    State(state): State<Shared>,
    Path(names): Path<(String, String)>,
    Query(reload): Query<Reload>,
) -> Result<Response, Problem> {
    playlist(&state, names, reload, (HlsStream::playlist, false), "segment").await
}

async fn audio(
    State(state): State<Shared>,
    Path(names): Path<(String, String)>,
    Query(reload): Query<Reload>,
) -> Result<Response, Problem> {
    playlist(&state, names, reload, (HlsStream::audio_playlist, true), "CMAF audio segment").await
}

async fn subtitles(State(state): State<Shared>, Path(names): Path<(String, String)>) -> Result<Response, Problem> {
    playlist(&state, names, Reload::default(), (HlsStream::subtitles_playlist, false), "captions segment").await
}

/// The channel's CMAF outputs as one live DASH manifest: their video as
/// one adaptation set, the first one's audio as another, the first one's
/// SCTE-35 events. Time zero is the first output's first segment.
async fn mpd(State(state): State<Shared>, Path(channel): Path<String>) -> Result<Response, Problem> {
    let streams = state.distributor.hls_all(&channel).ok_or_else(|| missing(format!("no channel {channel:?} runs")))?;
    // Every output on the first one's time zero.
    let mut zero = None;
    let parts: Vec<DashPart> = streams
        .iter()
        .filter_map(|(output, s)| {
            let part = s.dash(output, zero)?;
            zero.get_or_insert(part.zero.0);
            Some(part)
        })
        .collect();
    let Some(first) = parts.first() else {
        return Err(missing(format!("channel {channel:?} has no CMAF output with a segment yet")));
    };
    let (zero, zero_utc) = first.zero;
    let mpd = Mpd {
        availability_start_ms: zero_utc,
        now_ms: crate::api::now_ms() as i64,
        time_shift_s: first.dvr_s,
        segment_s: first.segment_s,
        max_segment_s: parts.iter().map(|p| p.max_segment_s).fold(first.segment_s, f64::max),
        video: parts.iter().map(|p| p.video.clone()).collect(),
        audio: first.audio.clone().into_iter().collect(),
        text: first.text.clone().into_iter().collect(),
        events_zero: zero,
        events: first.events.clone(),
        ended: parts.iter().all(|p| p.ended),
    };
    Ok(body(mpd.render(), MPD_TYPE, PLAYLIST_CACHE))
}

/// Whether `name` is an LL-HLS part (`EPOCH-vpN.m4s`, `EPOCH-apN.m4s`)
/// not made yet: the next one or the one after.
fn upcoming_part(stream: &HlsStream, name: &str) -> bool {
    let number = |letter: &str| name.rsplit_once(letter)?.1.strip_suffix(".m4s")?.parse::<u64>().ok();
    let (n, audio) = match (number("-vp"), number("-ap")) {
        (Some(n), _) => (n, false),
        (None, Some(n)) => (n, true),
        (None, None) => return false,
    };
    let next = stream.next_part(audio);
    (next..=next + 1).contains(&n)
}

async fn segment(
    State(state): State<Shared>,
    Path((channel, output, name)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let stream = output_stream(&state, &channel, &output)?;
    // The next part, named before it exists (a preload hint), is held
    // until it does; an old one is simply gone.
    if stream.segment(&name).is_none() && upcoming_part(&stream, &name) {
        hold(&stream, |s| s.segment(&name).is_some()).await;
    }
    let bytes = stream
        .segment(&name)
        .ok_or_else(|| missing(format!("segment {name:?} is not in the window of {channel}/{output}")))?;
    Ok(body(bytes, segment_type(&name), SEGMENT_CACHE))
}
