//! Serving the channels' HLS outputs (docs/streaming.md):
//!
//! - `GET /streams/{channel}/master.m3u8`: every HLS output of the channel
//!   that has a segment, as a variant with its bandwidth, codecs and
//!   resolution;
//! - `GET /streams/{channel}/{output}/index.m3u8`: the live media playlist;
//! - `GET /streams/{channel}/{output}/{segment}`: a segment in its window.
//!
//! Players carry no API token, so streams are served without one, as an
//! HLS origin is; the API stays behind its login. They are served on the
//! API's HTTPS address, and on plain HTTP only when `streams_http_listen`
//! is set (closed networks), where nothing but streams is served. CORS is
//! off unless `streams_cors_origins` names the origins of players' pages.

use crate::api::{Problem, Shared};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::fmt::Write;

/// Playlists change with every segment: caches must ask again.
const PLAYLIST_CACHE: &str = "no-cache";
/// A segment's name is never reused with other content (it carries the
/// output's start time), so it may be cached for as long as anyone likes.
const SEGMENT_CACHE: &str = "public, max-age=86400, immutable";
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
const SEGMENT_TYPE: &str = "video/mp2t";

/// The streams' routes, with their CORS policy.
pub fn router(origins: &[String]) -> Router<Shared> {
    let router = Router::new()
        .route("/streams/{channel}/master.m3u8", get(master))
        .route("/streams/{channel}/{output}/index.m3u8", get(media))
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
    let mut variants = 0;
    for (output, stream) in &streams {
        let Some((peak, average)) = stream.bandwidth() else { continue };
        let variant = stream.variant();
        let codecs = variant.codecs.map(|c| format!(",CODECS=\"{c}\"")).unwrap_or_default();
        let resolution = variant.resolution.map(|(w, h)| format!(",RESOLUTION={w}x{h}")).unwrap_or_default();
        let (peak, average) = (peak.max(1), average.max(1));
        let _ = writeln!(text, "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average}{codecs}{resolution}");
        let _ = writeln!(text, "{output}/index.m3u8");
        variants += 1;
    }
    if variants == 0 {
        let why = if streams.is_empty() { "has no HLS output" } else { "has no HLS segment yet" };
        return Err(missing(format!("channel {channel:?} {why}")));
    }
    Ok(body(text, PLAYLIST_TYPE, PLAYLIST_CACHE))
}

async fn media(
    State(state): State<Shared>,
    Path((channel, output)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let stream = state
        .distributor
        .hls(&channel, &output)
        .ok_or_else(|| missing(format!("channel {channel:?} runs no HLS output {output:?}")))?;
    let playlist =
        stream.playlist().ok_or_else(|| missing(format!("HLS output {channel}/{output} has no segment yet")))?;
    Ok(body(playlist.to_string(), PLAYLIST_TYPE, PLAYLIST_CACHE))
}

async fn segment(
    State(state): State<Shared>,
    Path((channel, output, name)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let stream = state
        .distributor
        .hls(&channel, &output)
        .ok_or_else(|| missing(format!("channel {channel:?} runs no HLS output {output:?}")))?;
    let bytes = stream
        .segment(&name)
        .ok_or_else(|| missing(format!("segment {name:?} is not in the window of {channel}/{output}")))?;
    Ok(body(bytes, SEGMENT_TYPE, SEGMENT_CACHE))
}
