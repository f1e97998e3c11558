//! A channel as the API takes it, in the seed distributor's model: a name,
//! one or two input URLs, failover timings and outputs; checked field by
//! field into what `stagebox-io` runs.

use serde::{Deserialize, Serialize};
use stagebox_io::ChannelConfig;
use stagebox_io::failover::FailoverConfig;
use stagebox_io::output::OutputConfig;
use stagebox_io::url::{Container, InputUrl, OutputUrl};
use std::collections::BTreeSet;
use std::time::Duration;

/// A channel description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// The channel's name: letters, digits, `.`, `_` and `-`, 1 to 64
    /// (in a `PUT`, the URL's).
    #[serde(default)]
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The primary input URL and, optionally, the backup.
    pub inputs: Vec<String>,
    /// Merge the two RTP inputs by sequence number (SMPTE ST 2022-7)
    /// instead of failing over between them.
    #[serde(default)]
    pub merge: bool,
    /// Failover timings.
    #[serde(default)]
    pub failover: FailoverSpec,
    /// 0 (the default): packets go out as they arrive. 1 to 100: the
    /// channel gathers this many ms of packets and hands each UDP or RTP
    /// output all of them in one UDP GSO send: that much more latency for
    /// several times less CPU (see docs/distributor.md, Tuning).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batch_ms: u64,
    /// Where the channel sends.
    #[serde(default)]
    pub outputs: Vec<OutputSpec>,
}

/// Failover timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverSpec {
    /// Silence on the active input that counts as lost, ms (20 to 60000;
    /// default 500).
    #[serde(default = "default_detect")]
    pub detect_ms: u64,
    /// Seconds the primary must be healthy before the channel returns to
    /// it (default 10); `null` stays on the backup until told.
    #[serde(default = "default_revert")]
    pub revert_after_s: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn default_detect() -> u64 {
    500
}

fn default_revert() -> Option<u64> {
    Some(10)
}

impl Default for FailoverSpec {
    fn default() -> Self {
        FailoverSpec { detect_ms: default_detect(), revert_after_s: default_revert() }
    }
}

/// One output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Its name in the channel.
    pub id: String,
    /// Where it sends (udp, rtp, srt, rtmp).
    pub url: String,
    /// When given, only these elementary PIDs go out (PSI always does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<Vec<u16>>,
    /// The SCTE-35 plugin (`scte35-policy`) that decides this output's
    /// cues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scte35: Option<PluginSpec>,
    /// The caption plugin (`caption-converter`) that decodes the video's
    /// captions into a WebVTT rendition (CMAF HLS outputs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captions: Option<PluginSpec>,
}

/// A plugin an output runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// The plugin: a bundled name (`scte35`, `captions`) or an uploaded
    /// plugin's hash.
    pub plugin: String,
    /// Its configuration.
    #[serde(default)]
    pub config: serde_json::Value,
}

impl PluginSpec {
    /// The configuration as the plugin's `init` takes it: JSON, or empty
    /// (the plugin's defaults) when none was given.
    pub fn config_text(&self) -> String {
        if self.config.is_null() { String::new() } else { self.config.to_string() }
    }
}

/// A field of a channel that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FieldError {
    /// The field, as `outputs[2].url`.
    pub field: String,
    /// What is wrong.
    pub why: String,
}

fn bad(field: impl Into<String>, why: impl std::fmt::Display) -> FieldError {
    FieldError { field: field.into(), why: why.to_string() }
}

/// Whether `name` is a usable channel or output name.
fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(bad(field, "1 to 64 letters, digits, '.', '_' or '-'")) }
}

impl ChannelSpec {
    /// Checks everything but the plugins, and gives the channel's
    /// configuration.
    pub fn config(&self) -> Result<ChannelConfig, FieldError> {
        check_name("name", &self.name)?;
        if !(1..=2).contains(&self.inputs.len()) {
            return Err(bad("inputs", "one input URL, or two (primary and backup)"));
        }
        let mut parsed = Vec::new();
        for (i, url) in self.inputs.iter().enumerate() {
            parsed.push(InputUrl::parse(url).map_err(|e| bad(format!("inputs[{i}]"), e))?);
        }
        if self.merge && !(parsed.len() == 2 && parsed.iter().all(|u| u.rtp)) {
            return Err(bad("merge", "a ST 2022-7 merge needs two rtp:// inputs"));
        }
        if parsed.len() == 2 && parsed[0].address == parsed[1].address && parsed[0].address.port() != 0 {
            return Err(bad("inputs[1]", "the backup must not be the primary's address"));
        }
        let f = self.failover;
        if !(20..=60_000).contains(&f.detect_ms) {
            return Err(bad("failover.detect_ms", "20 to 60000 ms"));
        }
        if f.revert_after_s.is_some_and(|s| s > 86_400) {
            return Err(bad("failover.revert_after_s", "at most 86400 s (or null: never)"));
        }
        if self.batch_ms > stagebox_io::channel::MAX_BATCH.as_millis() as u64 {
            return Err(bad("batch_ms", format!("0 to {} ms", stagebox_io::channel::MAX_BATCH.as_millis())));
        }
        if self.batch_ms > 0 && f.detect_ms <= 2 * self.batch_ms {
            return Err(bad("batch_ms", "less than half of failover.detect_ms (inputs are heard once a batch)"));
        }
        let mut ids = BTreeSet::new();
        for (i, output) in self.outputs.iter().enumerate() {
            output.config().map_err(|e| FieldError { field: format!("outputs[{i}].{}", e.field), why: e.why })?;
            if !ids.insert(&output.id) {
                return Err(bad(format!("outputs[{i}].id"), format!("{:?} is used twice", output.id)));
            }
        }
        Ok(ChannelConfig {
            name: self.name.clone(),
            primary: self.inputs[0].clone(),
            backup: self.inputs.get(1).cloned(),
            merge: self.merge,
            failover: FailoverConfig {
                detect: Duration::from_millis(f.detect_ms),
                revert_after: f.revert_after_s.map(Duration::from_secs),
            },
            batch: Duration::from_millis(self.batch_ms),
        })
    }
}

impl OutputSpec {
    /// Checks the output (but not its plugin); errors name the field
    /// within the output.
    pub fn config(&self) -> Result<OutputConfig, FieldError> {
        check_name("id", &self.id)?;
        let url = OutputUrl::parse(&self.url).map_err(|e| bad("url", e))?;
        if let Some(p) = self.pids.iter().flatten().find(|p| **p >= 0x1fff) {
            return Err(bad("pids", format!("{p} is not an elementary stream PID (below 8191)")));
        }
        let cmaf = matches!(&url, OutputUrl::Hls(h) if h.container == Container::Cmaf);
        if self.captions.is_some() && !cmaf {
            return Err(bad("captions", "captions need an hls:// output with container=cmaf"));
        }
        Ok(OutputConfig { id: self.id.clone(), url, pids: self.pids.as_ref().map(|p| p.iter().copied().collect()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> ChannelSpec {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_full_channel_checks() {
        let s = spec(serde_json::json!({
            "name": "news-1",
            "inputs": ["rtp://@239.1.1.1:5000", "rtp://@239.1.1.2:5000"],
            "failover": { "detect_ms": 300, "revert_after_s": null },
            "outputs": [
                { "id": "a", "url": "udp://10.0.0.1:5000" },
                { "id": "b", "url": "srt://cdn.example:9000?latency=200", "pids": [256, 257] },
            ],
        }));
        let config = s.config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.backup.as_deref(), Some("rtp://@239.1.1.2:5000"));
        assert_eq!(config.failover.detect, Duration::from_millis(300));
        assert_eq!(config.failover.revert_after, None);
        assert_eq!(config.batch, Duration::ZERO, "packets go out as they come unless asked");
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        // JSON Schema's integer takes 663.0; so does every API body.
        let body = axum::body::Bytes::from_static(
            br#"{"name": "a", "inputs": ["udp://127.0.0.1:1"], "batch_ms": 20.0,
                "outputs": [{ "id": "x", "url": "udp://127.0.0.1:2", "pids": [663.0],
                              "scte35": { "plugin": "scte35", "config": { "gain": 1.0 } } }]}"#,
        );
        let s: ChannelSpec = crate::api::json_body(&body).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!((s.batch_ms, s.outputs[0].pids.clone()), (20, Some(vec![663])));
        // A plugin's configuration is its own business: left as written.
        let config = s.outputs[0].scte35.as_ref().map(|c| c.config.to_string());
        assert_eq!(config.as_deref(), Some(r#"{"gain":1.0}"#));
        let pipeline = axum::body::Bytes::from_static(
            br#"{"name": "p", "nodes": [{ "id": "a", "type": "test_pattern", "width": 64.0, "height": 32, "rate": "25" }]}"#,
        );
        let p: crate::pipeline::spec::PipelineSpec =
            crate::api::json_body(&pipeline).unwrap_or_else(|p| panic!("{p:?}"));
        assert!(matches!(p.nodes[0], crate::pipeline::spec::NodeSpec::TestPattern { width: 64, .. }));
        // A fraction is still no integer, and the field is named.
        let bad = axum::body::Bytes::from_static(br#"{"inputs": ["udp://127.0.0.1:1"], "batch_ms": 2.5}"#);
        let problem = crate::api::json_body::<ChannelSpec>(&bad).unwrap_err();
        assert!(format!("{problem:?}").contains("batch_ms"), "{problem:?}");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (serde_json::json!({ "name": "a b", "inputs": ["udp://127.0.0.1:1"] }), "name: "),
            (serde_json::json!({ "name": "a", "inputs": [] }), "inputs: one input URL"),
            (serde_json::json!({ "name": "a", "inputs": ["srt://127.0.0.1:1"] }), "inputs[0]: srt:// cannot be used"),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1", "rtp://127.0.0.1:2"], "merge": true }),
                "merge: ",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"], "failover": { "detect_ms": 5 } }),
                "failover.detect_ms",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"], "batch_ms": 101 }),
                "batch_ms: 0 to 100",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"], "batch_ms": 50, "failover": { "detect_ms": 100 } }),
                "batch_ms: less than half",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"],
                    "outputs": [{ "id": "x", "url": "udp://127.0.0.1:2?tll=3" }] }),
                "outputs[0].url: unknown parameter \"tll\"",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"],
                    "outputs": [{ "id": "x", "url": "udp://127.0.0.1:2" }, { "id": "x", "url": "udp://127.0.0.1:3" }] }),
                "outputs[1].id: \"x\" is used twice",
            ),
            (
                serde_json::json!({ "name": "a", "inputs": ["udp://127.0.0.1:1"],
                    "outputs": [{ "id": "x", "url": "udp://127.0.0.1:2", "pids": [8191] }] }),
                "outputs[0].pids",
            ),
        ];
        for (json, says) in cases {
            let error = spec(json.clone()).config().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.starts_with(says) || error.contains(says), "{json}: {error:?} should say {says:?}");
        }
    }
}
