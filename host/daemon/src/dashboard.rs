//! The web dashboard: static files built into the binary
//! (`host/daemon/dashboard/`, and hls.js from npm, found by `build.rs`),
//! served without authentication (they hold no data; everything they show
//! comes from the API with the user's token), under a content security
//! policy that allows nothing but this origin.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Scripts, styles and requests from this origin only; images also from
/// `blob:` (thumbnails), and media and workers too (hls.js feeds the video
/// element through a Media Source and parses in a worker it makes from a
/// blob); no framing.
const CSP: &str = "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; worker-src 'self' blob:; \
                   style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A firmware update changes them; the browser asks again each time.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /`: the dashboard's page.
pub async fn index() -> Response {
    asset(include_str!("../dashboard/index.html"), "text/html; charset=utf-8")
}

/// `GET /assets/app.js`.
pub async fn script() -> Response {
    asset(include_str!("../dashboard/app.js"), "text/javascript; charset=utf-8")
}

/// `GET /assets/hls.min.js`: hls.js, the player of the watch view.
pub async fn hls() -> Response {
    asset(include_str!(env!("STAGEBOX_HLS_JS")), "text/javascript; charset=utf-8")
}

/// `GET /assets/style.css`.
pub async fn style() -> Response {
    asset(include_str!("../dashboard/style.css"), "text/css; charset=utf-8")
}
