//! A pipeline as the API takes it: a JSON graph of nodes and connections,
//! and the checks that name the bad field when it is wrong.

use serde::{Deserialize, Serialize};
use stagebox_flow::Rational;
use stagebox_plugins::World;

/// The most nodes one pipeline may have.
pub const MAX_NODES: usize = 64;

/// The most pixels a second a test pattern may make (UHD at 60 frames).
const MAX_PIXEL_RATE: f64 = 3840.0 * 2160.0 * 60.0;

/// A pipeline: nodes joined by connections. Every node but an SCTE-35
/// policy's has one output, a flow in the daemon's domain labelled
/// `<pipeline>/<node>`; a processing node has exactly one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// The pipeline's name: lower-case letters, digits, `-` and `_`.
    #[serde(default)]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The nodes.
    pub nodes: Vec<NodeSpec>,
    /// Which node's output feeds which node.
    #[serde(default)]
    pub connections: Vec<Connection>,
}

/// One edge of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The node whose output flow is read.
    pub from: String,
    /// The node that reads it.
    pub to: String,
}

/// What a plugin node does when its plugin fails (traps, runs past its
/// deadline, hits its memory cap, returns an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Drop the instance, back off (100 ms, doubling to 30 s) and serve the
    /// next grain from a fresh one. Grains meanwhile are marked invalid.
    #[default]
    Restart,
    /// Take the plugin out of the path: from the failure on, input passes
    /// through unchanged until the pipeline is started again.
    Bypass,
}

/// A node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeSpec {
    /// A v210 colour-bar source with a line that moves every frame.
    TestPattern {
        /// The node's id in the pipeline.
        id: String,
        /// Width in pixels.
        width: u32,
        /// Height in lines.
        height: u32,
        /// Frame rate, `"25/1"`, `"30000/1001"` or `"50"`.
        rate: String,
    },
    /// A `video-node` plugin processing every frame of its input.
    VideoPlugin {
        /// The node's id in the pipeline.
        id: String,
        /// An enabled or bundled plugin, by name or by hash.
        plugin: String,
        /// The plugin's configuration (a JSON object).
        #[serde(default = "empty_object")]
        config: serde_json::Value,
        /// What a failure does.
        #[serde(default)]
        on_failure: OnFailure,
    },
    /// SCTE-35 sections, sent one per interval in turn, forever.
    Scte35Source {
        /// The node's id in the pipeline.
        id: String,
        /// splice_info_sections, base64 or hex.
        sections: Vec<String>,
        /// Time between sections, in milliseconds.
        interval_ms: u32,
    },
    /// An `scte35-policy` plugin deciding about every section of its input.
    /// Decisions go to the event stream; sections that pass (rewritten
    /// when the policy says so) go to the output flow.
    Scte35Policy {
        /// The node's id in the pipeline.
        id: String,
        /// An enabled or bundled plugin, by name or by hash.
        plugin: String,
        /// The plugin's configuration (a JSON object).
        #[serde(default = "empty_object")]
        config: serde_json::Value,
        /// What a failure does.
        #[serde(default)]
        on_failure: OnFailure,
        /// The channel name the policy sees (default: the pipeline's name).
        #[serde(default)]
        channel: Option<String>,
        /// The PID the policy is told the sections came on.
        #[serde(default = "default_pid")]
        pid: u16,
    },
    /// H.264 and AAC in MPEG-TS, encoded from a v210 video input and,
    /// when `audio` names one, an audio flow of the domain; written to the
    /// node's transport stream flow and sent to `url` when given.
    Encoder {
        /// The node's id in the pipeline.
        id: String,
        /// H.264 kb/s.
        #[serde(default = "default_video_kbps")]
        video_kbps: u32,
        /// Milliseconds between keyframes, on the TAI grid (the HLS segment
        /// duration, or a divisor of it).
        #[serde(default = "default_keyframe_ms")]
        keyframe_ms: u32,
        /// An audio flow of the domain (32-bit float, 48 kHz, 1 or 2
        /// channels), by label or id.
        #[serde(default)]
        audio: Option<String>,
        /// AAC kb/s.
        #[serde(default = "default_audio_kbps")]
        audio_kbps: u32,
        /// `udp://host:port` or `rtp://host:port` to send the stream to.
        #[serde(default)]
        url: Option<String>,
    },
}

fn default_video_kbps() -> u32 {
    5000
}

fn default_keyframe_ms() -> u32 {
    2000
}

fn default_audio_kbps() -> u32 {
    128
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn default_pid() -> u16 {
    500
}

/// What flows out of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Essence {
    /// Video frames.
    Video,
    /// SCTE-35 sections.
    Scte35,
    /// An MPEG-TS program.
    Transport,
}

impl NodeSpec {
    /// The node's id.
    pub fn id(&self) -> &str {
        match self {
            NodeSpec::TestPattern { id, .. }
            | NodeSpec::VideoPlugin { id, .. }
            | NodeSpec::Scte35Source { id, .. }
            | NodeSpec::Scte35Policy { id, .. }
            | NodeSpec::Encoder { id, .. } => id,
        }
    }

    /// The essence the node takes in, if it has an input.
    pub fn input(&self) -> Option<Essence> {
        match self {
            NodeSpec::TestPattern { .. } | NodeSpec::Scte35Source { .. } => None,
            NodeSpec::VideoPlugin { .. } | NodeSpec::Encoder { .. } => Some(Essence::Video),
            NodeSpec::Scte35Policy { .. } => Some(Essence::Scte35),
        }
    }

    /// The essence of the node's output flow.
    pub fn output(&self) -> Essence {
        match self {
            NodeSpec::TestPattern { .. } | NodeSpec::VideoPlugin { .. } => Essence::Video,
            NodeSpec::Scte35Source { .. } | NodeSpec::Scte35Policy { .. } => Essence::Scte35,
            NodeSpec::Encoder { .. } => Essence::Transport,
        }
    }

    /// The plugin the node runs and the world it must implement.
    pub fn plugin(&self) -> Option<(&str, World)> {
        match self {
            NodeSpec::VideoPlugin { plugin, .. } => Some((plugin, World::VideoNode)),
            NodeSpec::Scte35Policy { plugin, .. } => Some((plugin, World::Scte35Policy)),
            _ => None,
        }
    }
}

/// A pipeline that fails a check: the field (`nodes[1].plugin`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// The bad field, as a path into the JSON document.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError { field: field.into(), message: message.into() }
}

/// Whether `name` is a valid pipeline or node name: 1 to 32 of `a-z`,
/// `0-9`, `-` and `_`, starting with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

/// Reads a rate: `"25/1"`, `"30000/1001"` or `"50"`.
pub fn parse_rate(text: &str) -> Option<Rational> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d) = (n.trim().parse::<u64>().ok()?, d.trim().parse::<u64>().ok()?);
    Rational::new(n, d).ok()
}

impl PipelineSpec {
    /// Checks everything that needs no plugin: names, sizes, rates,
    /// sections, and the shape of the graph. Returns each node's input
    /// (the index of the node that feeds it).
    pub fn check(&self) -> Result<Vec<Option<usize>>, SpecError> {
        if !valid_name(&self.name) {
            return Err(bad("name", "1 to 32 of a-z, 0-9, - and _, starting with a letter or digit"));
        }
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(bad("nodes", format!("1 to {MAX_NODES} nodes")));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            check_node(node, &format!("nodes[{i}]"))?;
            if self.nodes[..i].iter().any(|n| n.id() == node.id()) {
                return Err(bad(format!("nodes[{i}].id"), format!("{:?} is used twice", node.id())));
            }
        }
        let find = |id: &str| self.nodes.iter().position(|n| n.id() == id);
        let mut inputs: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for (i, c) in self.connections.iter().enumerate() {
            let from = find(&c.from).ok_or_else(|| bad(format!("connections[{i}].from"), no_node(&c.from)))?;
            let to = find(&c.to).ok_or_else(|| bad(format!("connections[{i}].to"), no_node(&c.to)))?;
            let field = format!("connections[{i}].to");
            let (source, sink) = (&self.nodes[from], &self.nodes[to]);
            let Some(wanted) = sink.input() else {
                return Err(bad(field, format!("{:?} is a source and takes no input", c.to)));
            };
            if source.output() != wanted {
                return Err(bad(
                    field,
                    format!("{:?} takes {} but {:?} gives {}", c.to, essence(wanted), c.from, essence(source.output())),
                ));
            }
            if inputs[to].is_some() {
                return Err(bad(field, format!("{:?} already has an input", c.to)));
            }
            inputs[to] = Some(from);
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(wanted) = node.input()
                && inputs[i].is_none()
            {
                return Err(bad(
                    format!("nodes[{i}]"),
                    format!("{:?} needs an input: connect a node that gives {} to it", node.id(), essence(wanted)),
                ));
            }
            // Every chain of inputs must end at a source: no cycles.
            let (mut at, mut steps) = (i, 0);
            while let Some(up) = inputs[at] {
                at = up;
                steps += 1;
                if steps > self.nodes.len() {
                    return Err(bad("connections", format!("{:?} is in a cycle", node.id())));
                }
            }
        }
        Ok(inputs)
    }

    /// The nodes in an order where every node comes after its input.
    pub fn upstream_first(&self, inputs: &[Option<usize>]) -> Vec<usize> {
        let depth = |mut i: usize| {
            let mut d = 0;
            while let Some(up) = inputs[i] {
                i = up;
                d += 1;
            }
            d
        };
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by_key(|&i| depth(i));
        order
    }
}

fn no_node(id: &str) -> String {
    format!("no node {id:?} in this pipeline")
}

fn essence(e: Essence) -> &'static str {
    match e {
        Essence::Video => "video",
        Essence::Scte35 => "SCTE-35 sections",
        Essence::Transport => "an MPEG-TS stream",
    }
}

fn check_node(node: &NodeSpec, at: &str) -> Result<(), SpecError> {
    if !valid_name(node.id()) {
        return Err(bad(format!("{at}.id"), "1 to 32 of a-z, 0-9, - and _, starting with a letter or digit"));
    }
    match node {
        NodeSpec::TestPattern { width, height, rate, .. } => {
            if !(16..=7680).contains(width) || !width.is_multiple_of(2) {
                return Err(bad(format!("{at}.width"), "an even number from 16 to 7680"));
            }
            if !(16..=4320).contains(height) {
                return Err(bad(format!("{at}.height"), "16 to 4320"));
            }
            match parse_rate(rate) {
                Some(r) if (1.0..=120.0).contains(&r.as_f64()) => {
                    if f64::from(*width) * f64::from(*height) * r.as_f64() > MAX_PIXEL_RATE {
                        return Err(bad(format!("{at}.rate"), "at most 3840 × 2160 pixels at 60 frames a second"));
                    }
                }
                _ => {
                    return Err(bad(format!("{at}.rate"), "a frame rate from 1 to 120, as \"25/1\" or \"30000/1001\""));
                }
            }
        }
        NodeSpec::Scte35Source { sections, interval_ms, .. } => {
            if !(10..=3_600_000).contains(interval_ms) {
                return Err(bad(format!("{at}.interval_ms"), "10 to 3600000"));
            }
            if sections.is_empty() || sections.len() > 256 {
                return Err(bad(format!("{at}.sections"), "1 to 256 sections"));
            }
            for (j, text) in sections.iter().enumerate() {
                decode_section(text).map_err(|e| bad(format!("{at}.sections[{j}]"), e))?;
            }
        }
        NodeSpec::Encoder { video_kbps, keyframe_ms, audio_kbps, url, audio, .. } => {
            if !(100..=50_000).contains(video_kbps) {
                return Err(bad(format!("{at}.video_kbps"), "100 to 50000"));
            }
            if !(200..=10_000).contains(keyframe_ms) {
                return Err(bad(format!("{at}.keyframe_ms"), "200 to 10000"));
            }
            if !(32..=512).contains(audio_kbps) {
                return Err(bad(format!("{at}.audio_kbps"), "32 to 512"));
            }
            if audio.as_ref().is_some_and(|a| a.is_empty() || a.len() > 256) {
                return Err(bad(format!("{at}.audio"), "a flow's label or id"));
            }
            if let Some(url) = url {
                destination(url).map_err(|e| bad(format!("{at}.url"), e))?;
            }
        }
        NodeSpec::VideoPlugin { config, .. } | NodeSpec::Scte35Policy { config, .. } => {
            if !config.is_object() {
                return Err(bad(format!("{at}.config"), "a JSON object"));
            }
            if let NodeSpec::Scte35Policy { channel, pid, .. } = node {
                if channel.as_ref().is_some_and(|c| c.len() > 64) {
                    return Err(bad(format!("{at}.channel"), "at most 64 bytes"));
                }
                if *pid > 0x1FFF {
                    return Err(bad(format!("{at}.pid"), "a PID: 0 to 8191"));
                }
            }
        }
    }
    Ok(())
}

/// An encoder's destination: `udp://` or `rtp://`.
pub fn destination(url: &str) -> Result<stagebox_io::url::UdpDestination, String> {
    match stagebox_io::url::OutputUrl::parse(url).map_err(|e| e.to_string())? {
        stagebox_io::url::OutputUrl::Udp(d) => Ok(d),
        _ => Err("udp:// or rtp://, host and port".into()),
    }
}

/// A section from its base64 or hex text, checked whole (CRC included).
pub fn decode_section(text: &str) -> Result<Vec<u8>, String> {
    use stagebox_media::scte35::SpliceInfoSection;
    let bytes = stagebox_media::scte35::decode_text(text).map_err(|e| e.to_string())?;
    SpliceInfoSection::parse(&bytes).map_err(|e| format!("not a splice_info_section: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(json: serde_json::Value) -> PipelineSpec {
        serde_json::from_value(json).unwrap()
    }

    fn err(json: serde_json::Value) -> String {
        spec(json).check().unwrap_err().to_string()
    }

    fn pattern(id: &str) -> serde_json::Value {
        serde_json::json!({ "id": id, "type": "test_pattern", "width": 64, "height": 32, "rate": "25/1" })
    }

    #[test]
    fn a_good_graph_orders_upstream_first() {
        let s = spec(serde_json::json!({
            "name": "p",
            "nodes": [
                { "id": "b", "type": "video_plugin", "plugin": "x" },
                pattern("a"),
                { "id": "c", "type": "video_plugin", "plugin": "x" },
            ],
            "connections": [{ "from": "b", "to": "c" }, { "from": "a", "to": "b" }],
        }));
        let inputs = s.check().unwrap();
        assert_eq!(inputs, vec![Some(1), None, Some(0)]);
        assert_eq!(s.upstream_first(&inputs), vec![1, 0, 2]);
    }

    #[test]
    fn errors_name_the_field() {
        let node = |extra: serde_json::Value| {
            let mut n = pattern("a");
            n.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::json!({ "name": "p", "nodes": [n] })
        };
        assert!(err(node(serde_json::json!({ "width": 3 }))).starts_with("nodes[0].width:"));
        assert!(err(node(serde_json::json!({ "rate": "fast" }))).starts_with("nodes[0].rate:"));
        assert!(err(node(serde_json::json!({ "id": "A b" }))).starts_with("nodes[0].id:"));
        assert!(err(serde_json::json!({ "name": "Bad", "nodes": [pattern("a")] })).starts_with("name:"));
        assert!(
            err(serde_json::json!({ "name": "p", "nodes": [pattern("a"), pattern("a")] })).starts_with("nodes[1].id:")
        );
        let plugin = serde_json::json!({ "id": "b", "type": "video_plugin", "plugin": "x" });
        assert!(err(serde_json::json!({ "name": "p", "nodes": [pattern("a"), plugin] })).starts_with("nodes[1]:"));
        let e = err(serde_json::json!({
            "name": "p", "nodes": [pattern("a"), plugin], "connections": [{ "from": "a", "to": "zz" }],
        }));
        assert!(e.starts_with("connections[0].to: no node \"zz\""), "{e}");
        let e = err(serde_json::json!({
            "name": "p", "nodes": [pattern("a"), pattern("b")], "connections": [{ "from": "a", "to": "b" }],
        }));
        assert!(e.contains("is a source"), "{e}");
        let policy = serde_json::json!({ "id": "c", "type": "scte35_policy", "plugin": "x" });
        let e = err(serde_json::json!({
            "name": "p", "nodes": [pattern("a"), policy], "connections": [{ "from": "a", "to": "c" }],
        }));
        assert!(e.starts_with("connections[0].to: \"c\" takes SCTE-35 sections but \"a\" gives video"), "{e}");
        let cues = serde_json::json!({ "id": "s", "type": "scte35_source", "sections": ["nope"], "interval_ms": 100 });
        assert!(err(serde_json::json!({ "name": "p", "nodes": [cues] })).starts_with("nodes[0].sections[0]:"));
        // A loop of two plugin nodes feeding each other has no source.
        let e = err(serde_json::json!({
            "name": "p",
            "nodes": [
                { "id": "b", "type": "video_plugin", "plugin": "x" },
                { "id": "c", "type": "video_plugin", "plugin": "x" },
            ],
            "connections": [{ "from": "b", "to": "c" }, { "from": "c", "to": "b" }],
        }));
        assert!(e.starts_with("connections:") && e.contains("cycle"), "{e}");
    }

    #[test]
    fn an_encoder_takes_video_and_checks_its_fields() {
        let graph = |encoder: serde_json::Value| {
            let mut node = serde_json::json!({ "id": "enc", "type": "encoder" });
            node.as_object_mut().unwrap().extend(encoder.as_object().unwrap().clone());
            serde_json::json!({ "name": "p", "nodes": [pattern("a"), node], "connections": [{ "from": "a", "to": "enc" }] })
        };
        let s = spec(graph(serde_json::json!({ "url": "rtp://127.0.0.1:5000" })));
        assert_eq!(s.check().unwrap(), vec![None, Some(0)]);
        assert_eq!(s.nodes[1].output(), Essence::Transport);
        for (fields, says) in [
            (serde_json::json!({ "video_kbps": 50 }), "nodes[1].video_kbps:"),
            (serde_json::json!({ "keyframe_ms": 20_000 }), "nodes[1].keyframe_ms:"),
            (serde_json::json!({ "audio_kbps": 8 }), "nodes[1].audio_kbps:"),
            (serde_json::json!({ "audio": "" }), "nodes[1].audio:"),
            (serde_json::json!({ "url": "srt://127.0.0.1:5000" }), "nodes[1].url: udp:// or rtp://"),
            (serde_json::json!({ "url": "rtp://nowhere" }), "nodes[1].url:"),
        ] {
            let e = err(graph(fields.clone()));
            assert!(e.starts_with(says), "{fields}: {e}");
        }
        // Its transport stream feeds no video node.
        let e = err(serde_json::json!({
            "name": "p",
            "nodes": [pattern("a"), { "id": "enc", "type": "encoder" }, { "id": "b", "type": "video_plugin", "plugin": "x" }],
            "connections": [{ "from": "a", "to": "enc" }, { "from": "enc", "to": "b" }],
        }));
        assert!(e.contains("takes video but \"enc\" gives an MPEG-TS stream"), "{e}");
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let bad: Result<PipelineSpec, _> = serde_json::from_value(serde_json::json!({
            "name": "p", "nodes": [{ "id": "a", "type": "teleporter" }],
        }));
        assert!(bad.is_err());
        let bad: Result<PipelineSpec, _> = serde_json::from_value(serde_json::json!({
            "name": "p", "nodes": [{ "id": "a", "type": "test_pattern", "width": 64, "height": 32, "rate": "25", "x": 1 }],
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("30000/1001").map(|r| (r.numerator(), r.denominator())), Some((30000, 1001)));
        assert_eq!(parse_rate("50").map(|r| r.numerator()), Some(50));
        assert!(parse_rate("1/0").is_none() && parse_rate("x").is_none());
    }
}
