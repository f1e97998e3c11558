//! Input and output URLs, in the forms broadcast engineers already type
//! into ffmpeg and `srt-live-transmit`:
//!
//! - `udp://@239.1.1.1:5000?localaddr=10.0.0.2&sources=10.0.0.9` and
//!   `rtp://…` to receive (`@` optional; a multicast group is joined);
//! - `udp://10.0.0.7:5000?ttl=8&pkt_size=1316` and `rtp://…` to send;
//! - `srt://host:port?mode=caller|listener&latency=120&passphrase=…&pbkeylen=16&streamid=…`
//!   (latency in milliseconds, as `srt-live-transmit` takes it);
//! - `rtmp://host[:port]/app/stream-key`;
//! - `hls://?segment=6&dvr=60&container=ts`: packaged here and served by
//!   the box (segment duration and DVR depth in seconds; `container=cmaf`
//!   for CMAF segments, served as HLS and DASH).
//!
//! An unknown parameter is an error, so a typo never silently does nothing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("{url:?} is not a URL: {why}")]
    Syntax {
        /// The text given.
        url: String,
        /// What the parser said.
        why: String,
    },
    /// A scheme this side does not speak.
    #[error("{scheme}:// cannot be used as an {role} (use {expected})")]
    Scheme {
        /// The scheme given.
        scheme: String,
        /// "input" or "output".
        role: &'static str,
        /// The schemes that can.
        expected: &'static str,
    },
    /// The host or port is missing or unusable.
    #[error("{0}")]
    Address(String),
    /// A parameter with a bad value.
    #[error("parameter {name}={value:?}: {why}")]
    Parameter {
        /// The parameter's name.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A parameter this scheme does not take.
    #[error("unknown parameter {name:?} for {scheme}:// (known: {known})")]
    Unknown {
        /// The parameter's name.
        name: String,
        /// The scheme.
        scheme: String,
        /// The parameters it takes.
        known: &'static str,
    },
}

/// Where a channel receives a transport stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputUrl {
    /// RTP (RFC 3550, payload type 33) rather than raw TS in UDP.
    pub rtp: bool,
    /// The address to bind, or the multicast group to join, and the port.
    pub address: SocketAddr,
    /// The interface to receive multicast on (`localaddr`).
    pub interface: Option<Ipv4Addr>,
    /// Only accept a source-specific multicast stream from this sender
    /// (`sources`).
    pub source: Option<Ipv4Addr>,
    /// SO_RCVBUF to ask for, in bytes (`buffer_size`).
    pub buffer: Option<usize>,
}

/// Where an output sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputUrl {
    /// UDP, raw TS or RTP.
    Udp(UdpDestination),
    /// SRT, caller or listener.
    Srt(SrtUrl),
    /// RTMP push.
    Rtmp(RtmpUrl),
    /// HLS, packaged in this box and served by it.
    Hls(HlsUrl),
}

impl OutputUrl {
    /// The URL's scheme, for status.
    pub fn kind(&self) -> &'static str {
        match self {
            OutputUrl::Udp(d) if d.rtp => "rtp",
            OutputUrl::Udp(_) => "udp",
            OutputUrl::Srt(_) => "srt",
            OutputUrl::Rtmp(_) => "rtmp",
            OutputUrl::Hls(_) => "hls",
        }
    }
}

/// A UDP or RTP destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpDestination {
    /// RTP (payload type 33) rather than raw TS.
    pub rtp: bool,
    /// The host (name or address) to send to.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The multicast TTL (`ttl`, default 16).
    pub ttl: u32,
    /// The interface to send multicast from (`localaddr`).
    pub interface: Option<Ipv4Addr>,
    /// Transport packets per datagram (`pkt_size` in bytes / 188; 1 to 7,
    /// default 7, 1316 bytes).
    pub packets_per_datagram: usize,
}

/// Who opens an SRT connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrtMode {
    /// Connect to a listener at `host:port`.
    Caller {
        /// The listener's host.
        host: String,
        /// Its port.
        port: u16,
    },
    /// Wait for callers on this port (the host part, if any, is the
    /// address to bind).
    Listener {
        /// The address to bind.
        address: SocketAddr,
    },
}

/// An SRT endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtUrl {
    /// Caller or listener.
    pub mode: SrtMode,
    /// The receiver's TSBPD latency (`latency`, ms; default 120).
    pub latency: Duration,
    /// AES passphrase, 10 to 79 characters (`passphrase`).
    pub passphrase: Option<String>,
    /// AES key length in bytes: 16, 24 or 32 (`pbkeylen`, default 16).
    pub key_size: u8,
    /// The stream id sent by a caller (`streamid`).
    pub stream_id: Option<String>,
}

/// An RTMP publish point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// The server's host.
    pub host: String,
    /// Its port (default 1935).
    pub port: u16,
    /// The application (`live` in `rtmp://host/live/key`).
    pub app: String,
    /// The stream key.
    pub stream: String,
}

/// An HLS output: `hls://?segment=6&dvr=60`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsUrl {
    /// The segment duration aimed at, in seconds (`segment`, 1 to 30,
    /// default 6). Segments start at keyframes, so each lasts at least
    /// this unless the encoder's GOP is a divisor of it.
    pub segment_s: u64,
    /// How far back a player may seek, in seconds (`dvr`, from one segment
    /// to 3600, default 60). The segments it covers are held in memory.
    pub dvr_s: u64,
    /// The segments' container (`container`, `ts` or `cmaf`, default
    /// `ts`).
    pub container: Container,
    /// The encoding ladder's renditions (`ladder`, comma-separated
    /// `NAME:WIDTHxHEIGHT@KBPS`, or `default` for the seed's 720p at 2.5
    /// Mb/s, 1080p at 5 and at 8 Mb/s), as given: the daemon's transcoder
    /// reads them. Empty: no ladder, the stream as it comes.
    pub ladder: Vec<String>,
    /// With a ladder, the source as it comes is a rendition too
    /// (`passthrough=1`).
    pub passthrough: bool,
    /// With a ladder, the audio's AAC bitrate in kb/s (`audio`, 32 to
    /// 512, default 128), or `None` to copy the source's audio
    /// (`audio=copy`).
    pub audio_kbps: Option<u64>,
    /// LL-HLS: the part target in milliseconds (`part_ms`, 100 to half
    /// the segment; CMAF only), or `None` for whole segments only.
    pub part_ms: Option<u64>,
    /// The stream's PTS is TAI on the 90 kHz clock (`clock=tai`, as a
    /// Stagebox encoder node makes it): program date-times and DASH's
    /// availabilityStartTime come from the PTS, converted to UTC, rather
    /// than from when the packets arrived (`clock=arrival`, the default).
    pub tai_clock: bool,
}

/// An HLS output's segment container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// MPEG-TS segments, the stream as it came.
    Ts,
    /// CMAF (fMP4) segments, a track each: HLS with an audio group, and
    /// DASH.
    Cmaf,
}

impl std::str::FromStr for Container {
    type Err = ();

    fn from_str(text: &str) -> Result<Container, ()> {
        match text {
            "ts" => Ok(Container::Ts),
            "cmaf" => Ok(Container::Cmaf),
            _ => Err(()),
        }
    }
}

impl HlsUrl {
    /// Segments the playlist keeps: enough to cover the DVR depth.
    pub fn window_segments(&self) -> usize {
        self.dvr_s.div_ceil(self.segment_s.max(1)).max(1) as usize
    }
}

fn parse_url(text: &str) -> Result<url::Url, UrlError> {
    // `udp://@239.1.1.1:5000` is ffmpeg's way of saying "bind": drop the @.
    let cleaned = text.replacen("://@", "://", 1);
    url::Url::parse(&cleaned).map_err(|e| UrlError::Syntax { url: text.to_owned(), why: e.to_string() })
}

/// The host and port; port 0 (any free port) only when `any_port`.
fn host_port(url: &url::Url, any_port: bool) -> Result<(String, u16), UrlError> {
    let host =
        url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| UrlError::Address(format!("{url} has no host")))?;
    let port = url.port().ok_or_else(|| UrlError::Address(format!("{url} has no port")))?;
    if port == 0 && !any_port {
        return Err(UrlError::Address(format!("{url}: port 0")));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
}

fn ip(host: &str, what: &str) -> Result<IpAddr, UrlError> {
    host.parse().map_err(|_| UrlError::Address(format!("{what} must be an IP address, not {host:?}")))
}

fn parameter<T: std::str::FromStr>(name: &str, value: &str, why: &str) -> Result<T, UrlError> {
    value.parse().map_err(|_| UrlError::Parameter { name: name.into(), value: value.into(), why: why.into() })
}

fn unknown(name: &str, url: &url::Url, known: &'static str) -> UrlError {
    UrlError::Unknown { name: name.into(), scheme: url.scheme().into(), known }
}

impl InputUrl {
    /// Parses `udp://[@]address:port?…` or `rtp://…`.
    pub fn parse(text: &str) -> Result<InputUrl, UrlError> {
        let url = parse_url(text)?;
        let rtp = match url.scheme() {
            "udp" => false,
            "rtp" => true,
            other => {
                return Err(UrlError::Scheme { scheme: other.into(), role: "input", expected: "udp:// or rtp://" });
            }
        };
        // Port 0 binds any free port ([`crate::Channel::input_addresses`]
        // says which): for tests and for inputs that announce themselves.
        let (host, port) = host_port(&url, true)?;
        let address = SocketAddr::new(ip(&host, "an input's host")?, port);
        let mut input = InputUrl { rtp, address, interface: None, source: None, buffer: None };
        for (name, value) in url.query_pairs() {
            match &*name {
                "localaddr" => input.interface = Some(parameter(&name, &value, "an IPv4 address")?),
                "sources" => input.source = Some(parameter(&name, &value, "an IPv4 address")?),
                "buffer_size" => input.buffer = Some(parameter(&name, &value, "a size in bytes")?),
                _ => return Err(unknown(&name, &url, "localaddr, sources, buffer_size")),
            }
        }
        if input.source.is_some() && !input.address.ip().is_multicast() {
            return Err(UrlError::Address(format!("sources= needs a multicast group, not {}", input.address.ip())));
        }
        Ok(input)
    }
}

impl OutputUrl {
    /// Parses an output URL (udp, rtp, srt or rtmp).
    pub fn parse(text: &str) -> Result<OutputUrl, UrlError> {
        let url = parse_url(text)?;
        match url.scheme() {
            "udp" | "rtp" => udp_destination(&url).map(OutputUrl::Udp),
            "srt" => srt(&url).map(OutputUrl::Srt),
            "rtmp" => rtmp(&url).map(OutputUrl::Rtmp),
            "hls" => hls(&url).map(OutputUrl::Hls),
            other => Err(UrlError::Scheme {
                scheme: other.into(),
                role: "output",
                expected: "udp://, rtp://, srt://, rtmp:// or hls://",
            }),
        }
    }
}

fn udp_destination(url: &url::Url) -> Result<UdpDestination, UrlError> {
    let (host, port) = host_port(url, false)?;
    let mut out =
        UdpDestination { rtp: url.scheme() == "rtp", host, port, ttl: 16, interface: None, packets_per_datagram: 7 };
    for (name, value) in url.query_pairs() {
        match &*name {
            "ttl" => out.ttl = parameter(&name, &value, "a hop count")?,
            "localaddr" => out.interface = Some(parameter(&name, &value, "an IPv4 address")?),
            "pkt_size" => {
                let bytes: usize = parameter(&name, &value, "a size in bytes")?;
                if !bytes.is_multiple_of(188) || !(188..=1316).contains(&bytes) {
                    return Err(UrlError::Parameter {
                        name: name.into(),
                        value: value.into(),
                        why: "a multiple of 188 from 188 to 1316".into(),
                    });
                }
                out.packets_per_datagram = bytes / 188;
            }
            _ => return Err(unknown(&name, url, "ttl, localaddr, pkt_size")),
        }
    }
    Ok(out)
}

fn srt(url: &url::Url) -> Result<SrtUrl, UrlError> {
    let (host, port) = host_port(url, false)?;
    let mut listener = false;
    let mut out = SrtUrl {
        mode: SrtMode::Caller { host: host.clone(), port },
        latency: Duration::from_millis(120),
        passphrase: None,
        key_size: 16,
        stream_id: None,
    };
    for (name, value) in url.query_pairs() {
        match &*name {
            "mode" => {
                listener = match &*value {
                    "caller" => false,
                    "listener" => true,
                    _ => {
                        return Err(UrlError::Parameter {
                            name: name.into(),
                            value: value.into(),
                            why: "caller or listener".into(),
                        });
                    }
                }
            }
            "latency" => out.latency = Duration::from_millis(parameter(&name, &value, "milliseconds")?),
            "passphrase" => {
                if !(10..=79).contains(&value.chars().count()) {
                    return Err(UrlError::Parameter {
                        name: name.into(),
                        value: "…".into(),
                        why: "10 to 79 characters".into(),
                    });
                }
                out.passphrase = Some(value.into_owned());
            }
            "pbkeylen" => {
                out.key_size = parameter(&name, &value, "16, 24 or 32")?;
                if ![16, 24, 32].contains(&out.key_size) {
                    return Err(UrlError::Parameter {
                        name: name.into(),
                        value: value.into(),
                        why: "16, 24 or 32".into(),
                    });
                }
            }
            "streamid" => out.stream_id = Some(value.into_owned()),
            _ => return Err(unknown(&name, url, "mode, latency, passphrase, pbkeylen, streamid")),
        }
    }
    if listener {
        out.mode = SrtMode::Listener { address: SocketAddr::new(ip(&host, "a listener's host")?, port) };
    }
    Ok(out)
}

fn rtmp(url: &url::Url) -> Result<RtmpUrl, UrlError> {
    let host =
        url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| UrlError::Address(format!("{url} has no host")))?;
    let mut parts = url.path().trim_start_matches('/').splitn(2, '/');
    let app = parts.next().unwrap_or_default();
    let stream = parts.next().unwrap_or_default();
    if app.is_empty() || stream.is_empty() {
        return Err(UrlError::Address(format!("{url}: expected rtmp://host/app/stream-key")));
    }
    if let Some((name, _)) = url.query_pairs().next() {
        return Err(unknown(&name, url, "none"));
    }
    Ok(RtmpUrl {
        host: host.to_owned(),
        port: url.port().unwrap_or(1935),
        app: app.to_owned(),
        stream: stream.to_owned(),
    })
}

fn hls(url: &url::Url) -> Result<HlsUrl, UrlError> {
    if url.host_str().is_some_and(|h| !h.is_empty()) || !matches!(url.path(), "" | "/") {
        return Err(UrlError::Address(format!(
            "{url}: hls:// names no place; the box serves it at /streams/CHANNEL/OUTPUT/index.m3u8"
        )));
    }
    let mut out = HlsUrl {
        segment_s: 6,
        dvr_s: 60,
        container: Container::Ts,
        ladder: Vec::new(),
        passthrough: false,
        audio_kbps: Some(128),
        part_ms: None,
        tai_clock: false,
    };
    let mut audio_given = false;
    for (name, value) in url.query_pairs() {
        match &*name {
            "segment" => out.segment_s = parameter(&name, &value, "whole seconds, 1 to 30")?,
            "dvr" => out.dvr_s = parameter(&name, &value, "whole seconds, up to 3600")?,
            "container" => out.container = parameter(&name, &value, "ts or cmaf")?,
            "ladder" => out.ladder = value.split(',').map(str::to_owned).collect(),
            "passthrough" => {
                out.passthrough = parameter::<u8>(&name, &value, "0 or 1").and_then(|v| match v {
                    0 | 1 => Ok(v == 1),
                    _ => Err(UrlError::Parameter {
                        name: name.to_string(),
                        value: value.to_string(),
                        why: "0 or 1".into(),
                    }),
                })?
            }
            "audio" => {
                audio_given = true;
                out.audio_kbps = match &*value {
                    "copy" => None,
                    kbps => match kbps.parse::<u64>() {
                        Ok(n) if (32..=512).contains(&n) => Some(n),
                        _ => {
                            return Err(UrlError::Parameter {
                                name: name.to_string(),
                                value: value.to_string(),
                                why: "copy, or kb/s from 32 to 512".into(),
                            });
                        }
                    },
                };
            }
            "part_ms" => out.part_ms = Some(parameter(&name, &value, "milliseconds")?),
            "clock" => {
                out.tai_clock = match &*value {
                    "tai" => true,
                    "arrival" => false,
                    _ => {
                        return Err(UrlError::Parameter {
                            name: name.to_string(),
                            value: value.to_string(),
                            why: "tai or arrival".into(),
                        });
                    }
                }
            }
            _ => {
                return Err(unknown(&name, url, "segment, dvr, container, ladder, passthrough, audio, part_ms, clock"));
            }
        }
    }
    let bad = |name: &str, value: u64, why: &str| UrlError::Parameter {
        name: name.into(),
        value: value.to_string(),
        why: why.into(),
    };
    if !(1..=30).contains(&out.segment_s) {
        return Err(bad("segment", out.segment_s, "whole seconds, 1 to 30"));
    }
    if out.dvr_s < out.segment_s || out.dvr_s > 3600 {
        return Err(bad("dvr", out.dvr_s, "whole seconds, from one segment to 3600"));
    }
    if let Some(ms) = out.part_ms {
        if out.container != Container::Cmaf {
            return Err(bad("part_ms", ms, "parts need container=cmaf"));
        }
        if !(100..=out.segment_s * 500).contains(&ms) {
            return Err(bad("part_ms", ms, "100 ms to half a segment"));
        }
    }
    for (given, name) in [(out.passthrough, "passthrough"), (audio_given, "audio")] {
        if given && out.ladder.is_empty() {
            return Err(UrlError::Parameter {
                name: name.into(),
                value: String::new(),
                why: "goes with a ladder".into(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_read_as_ffmpeg_writes_them() {
        let input = InputUrl::parse("rtp://@239.1.1.1:5000?localaddr=10.0.0.2&sources=10.0.0.9&buffer_size=8388608")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(input.rtp);
        assert_eq!(input.address, "239.1.1.1:5000".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(input.interface, Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(input.source, Some(Ipv4Addr::new(10, 0, 0, 9)));
        assert_eq!(input.buffer, Some(8 << 20));
        assert!(!InputUrl::parse("udp://127.0.0.1:5000").is_ok_and(|i| i.rtp));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            ("srt://127.0.0.1:9000", "cannot be used as an input"),
            ("udp://127.0.0.1", "has no port"),
            ("udp://example.org:5000", "must be an IP address"),
            ("udp://127.0.0.1:5000?buffersize=1", "unknown parameter \"buffersize\""),
            ("udp://127.0.0.1:5000?sources=10.0.0.1", "needs a multicast group"),
            ("not a url", "is not a URL"),
        ];
        for (url, says) in cases {
            let error = InputUrl::parse(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(says), "{url}: {error:?} should say {says:?}");
        }
        let cases = [
            ("udp://10.0.0.1:5000?pkt_size=1000", "multiple of 188"),
            ("srt://10.0.0.1:9000?mode=rendezvous", "caller or listener"),
            ("srt://10.0.0.1:9000?passphrase=short", "10 to 79"),
            ("srt://10.0.0.1:9000?pbkeylen=20", "16, 24 or 32"),
            ("srt://example.org:9000?mode=listener", "must be an IP address"),
            ("rtmp://example.org/live", "rtmp://host/app/stream-key"),
            ("http://example.org/", "cannot be used as an output"),
        ];
        for (url, says) in cases {
            let error = OutputUrl::parse(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(says), "{url}: {error:?} should say {says:?}");
        }
    }

    #[test]
    fn outputs_take_their_parameters() {
        let parsed =
            OutputUrl::parse("srt://example.org:9000?latency=200&passphrase=0123456789ab&pbkeylen=32&streamid=a/b")
                .unwrap_or_else(|e| panic!("{e}"));
        let OutputUrl::Srt(srt) = parsed else { panic!("not srt") };
        assert_eq!(srt.mode, SrtMode::Caller { host: "example.org".into(), port: 9000 });
        assert_eq!(srt.latency, Duration::from_millis(200));
        assert_eq!(srt.key_size, 32);
        assert_eq!(srt.stream_id.as_deref(), Some("a/b"));
        let parsed = OutputUrl::parse("srt://0.0.0.0:9000?mode=listener").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(parsed, OutputUrl::Srt(SrtUrl { mode: SrtMode::Listener { .. }, .. })));
        let parsed = OutputUrl::parse("rtp://239.0.0.1:5004?ttl=4&pkt_size=752").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.kind(), "rtp");
        let OutputUrl::Udp(udp) = parsed else { panic!("not udp") };
        assert_eq!((udp.ttl, udp.packets_per_datagram), (4, 4));
        let parsed = OutputUrl::parse("rtmp://media.example:1936/live/key-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed,
            OutputUrl::Rtmp(RtmpUrl {
                host: "media.example".into(),
                port: 1936,
                app: "live".into(),
                stream: "key-1".into()
            })
        );
    }

    #[test]
    fn hls_outputs_take_segment_and_dvr() {
        let parsed = OutputUrl::parse("hls://?segment=2&dvr=30").unwrap_or_else(|e| panic!("{e}"));
        let plain = HlsUrl {
            segment_s: 2,
            dvr_s: 30,
            container: Container::Ts,
            ladder: Vec::new(),
            passthrough: false,
            audio_kbps: Some(128),
            part_ms: None,
            tai_clock: false,
        };
        assert_eq!(parsed, OutputUrl::Hls(plain.clone()));
        let tai = OutputUrl::parse("hls://?segment=2&dvr=30&clock=tai").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tai, OutputUrl::Hls(HlsUrl { tai_clock: true, ..plain.clone() }));
        let cmaf = OutputUrl::parse(
            "hls://?segment=2&dvr=30&container=cmaf&ladder=default,b:640x360@800&passthrough=1&audio=96",
        );
        let ladder = vec!["default".to_owned(), "b:640x360@800".to_owned()];
        let expected = HlsUrl { container: Container::Cmaf, ladder, passthrough: true, audio_kbps: Some(96), ..plain };
        assert_eq!(cmaf.unwrap_or_else(|e| panic!("{e}")), OutputUrl::Hls(expected));
        let OutputUrl::Hls(hls) = parsed else { panic!("not hls") };
        assert_eq!(hls.window_segments(), 15);
        assert_eq!(OutputUrl::parse("hls://").unwrap_or_else(|e| panic!("{e}")).kind(), "hls");
        for (bad, says) in [
            ("hls://example.org/live", "names no place"),
            ("hls://?segment=0", "segment"),
            ("hls://?segment=2&dvr=1", "dvr"),
            ("hls://?dvr=7200", "dvr"),
            ("hls://?part=1", "unknown parameter"),
            ("hls://?container=mp4", "ts or cmaf"),
            ("hls://?passthrough=1", "goes with a ladder"),
            ("hls://?ladder=default&passthrough=2", "0 or 1"),
            ("hls://?audio=copy", "goes with a ladder"),
            ("hls://?part_ms=500", "parts need container=cmaf"),
            ("hls://?container=cmaf&segment=2&part_ms=1500", "half a segment"),
            ("hls://?ladder=default&audio=1000", "copy, or kb/s"),
            ("hls://?clock=gps", "tai or arrival"),
        ] {
            let e = OutputUrl::parse(bad).map(|u| format!("{u:?}")).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
