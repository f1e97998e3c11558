//! The plugin manifest: what a plugin is, which world it implements, and
//! which capabilities and limits it asks for.

use crate::error::PluginError;
use serde::Deserialize;

/// The plugin worlds of `stagebox:media`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    /// `video-node`: exports `video-processor`.
    VideoNode,
    /// `audio-node`: exports `audio-processor`.
    AudioNode,
    /// `caption-converter`: exports `captions`.
    CaptionConverter,
    /// `scte35-policy`: exports `scte35`.
    Scte35Policy,
}

impl World {
    /// Every world.
    pub const ALL: [World; 4] = [World::VideoNode, World::AudioNode, World::CaptionConverter, World::Scte35Policy];

    /// The world's name in WIT.
    pub fn name(self) -> &'static str {
        match self {
            World::VideoNode => "video-node",
            World::AudioNode => "audio-node",
            World::CaptionConverter => "caption-converter",
            World::Scte35Policy => "scte35-policy",
        }
    }

    /// The interface the world exports.
    pub fn export(self) -> &'static str {
        match self {
            World::VideoNode => "video-processor",
            World::AudioNode => "audio-processor",
            World::CaptionConverter => "captions",
            World::Scte35Policy => "scte35",
        }
    }

    fn from_name(name: &str) -> Option<World> {
        World::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// A capability a plugin may ask for and an admin may grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `wasi:sockets`: TCP, UDP and name lookup, on the host's network.
    Network,
    /// `wasi:filesystem`: the types only; no folder is opened to the plugin.
    Filesystem,
}

impl Capability {
    fn from_name(name: &str) -> Option<Capability> {
        match name {
            "network" => Some(Capability::Network),
            "filesystem" => Some(Capability::Filesystem),
            _ => None,
        }
    }

    /// The capability's manifest name.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Network => "network",
            Capability::Filesystem => "filesystem",
        }
    }
}

/// Limits a plugin asks for. The host may lower them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Linear memory cap per instance, bytes.
    pub memory_bytes: usize,
    /// CPU deadline per call as a fraction of the media period (a frame or
    /// block): 0.5 means half a frame.
    pub deadline_fraction: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 64 << 20, deadline_fraction: 0.5 }
    }
}

/// A validated plugin manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Plugin name: lower-case letters, digits and `-`.
    pub name: String,
    /// The plugin's own version (semver `MAJOR.MINOR.PATCH`).
    pub version: String,
    /// The world it implements.
    pub world: World,
    /// One line for the operator.
    pub description: String,
    /// Capabilities it asks for.
    pub capabilities: Vec<Capability>,
    /// Limits it asks for.
    pub limits: Limits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    version: String,
    world: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory_mib: Option<u64>,
    deadline_fraction: Option<f64>,
}

const MAX_MEMORY_MIB: u64 = 4096;

/// Names the field a TOML error is about: the one its message quotes
/// (missing or unknown fields), else the `table.key` at the error's position.
fn field_of(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message();
    if let Some(quoted) = msg.split('`').nth(1).filter(|q| !q.is_empty() && !q.contains(' ')) {
        return quoted.to_owned();
    }
    let Some(at) = e.span().map(|s| s.start.min(text.len())) else { return "<document>".into() };
    let before = &text[..at];
    let key = before.rsplit('\n').next().unwrap_or("").split('=').next().unwrap_or("").trim();
    let table = before
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .map(|t| format!("{}.", t.trim()))
        .unwrap_or_default();
    if key.is_empty() { "<document>".into() } else { format!("{table}{key}") }
}

fn bad(field: &str, reason: impl Into<String>) -> PluginError {
    PluginError::Manifest { field: field.to_owned(), reason: reason.into() }
}

impl Manifest {
    /// Parses and validates a TOML manifest:
    ///
    /// ```
    /// let m = stagebox_plugins::Manifest::from_toml(r#"
    ///     name = "invert"
    ///     version = "1.0.0"
    ///     world = "video-node"
    ///     description = "Negative image"
    ///     [limits]
    ///     memory_mib = 32
    /// "#).unwrap();
    /// assert_eq!(m.limits.memory_bytes, 32 << 20);
    /// ```
    pub fn from_toml(text: &str) -> Result<Manifest, PluginError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| bad(&field_of(text, &e), e.message().to_owned()))?;
        let name_ok = !raw.name.is_empty()
            && raw.name.len() <= 64
            && raw.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(bad("name", "must be 1-64 of a-z, 0-9 and -"));
        }
        let parts: Vec<&str> = raw.version.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.parse::<u64>().is_err()) {
            return Err(bad("version", format!("{:?} is not MAJOR.MINOR.PATCH", raw.version)));
        }
        let world = World::from_name(&raw.world).ok_or_else(|| {
            bad("world", format!("{:?} is not one of {}", raw.world, World::ALL.map(World::name).join(", ")))
        })?;
        if raw.description.contains('\n') || raw.description.len() > 200 {
            return Err(bad("description", "must be one line of at most 200 bytes"));
        }
        let mut capabilities = Vec::new();
        for (i, c) in raw.capabilities.iter().enumerate() {
            let cap = Capability::from_name(c)
                .ok_or_else(|| bad(&format!("capabilities[{i}]"), format!("{c:?} is not network or filesystem")))?;
            if !capabilities.contains(&cap) {
                capabilities.push(cap);
            }
        }
        let mut limits = Limits::default();
        if let Some(mib) = raw.limits.memory_mib {
            if !(1..=MAX_MEMORY_MIB).contains(&mib) {
                return Err(bad("limits.memory_mib", format!("{mib} is not in 1..={MAX_MEMORY_MIB}")));
            }
            limits.memory_bytes = (mib as usize) << 20;
        }
        if let Some(f) = raw.limits.deadline_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err(bad("limits.deadline_fraction", format!("{f} is not in (0, 1]")));
            }
            limits.deadline_fraction = f;
        }
        Ok(Manifest { name: raw.name, version: raw.version, world, description: raw.description, capabilities, limits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name = \"invert\"\nversion = \"1.2.3\"\nworld = \"video-node\"\n";

    #[test]
    fn minimal_manifest_takes_defaults() {
        let m = Manifest::from_toml(GOOD).unwrap();
        assert_eq!((m.name.as_str(), m.world), ("invert", World::VideoNode));
        assert_eq!(m.limits, Limits::default());
        assert!(m.capabilities.is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases = [
            (GOOD.replace("invert", "Invert!"), "name"),
            (GOOD.replace("1.2.3", "1.2"), "version"),
            (GOOD.replace("video-node", "teapot"), "world"),
            (format!("{GOOD}capabilities = [\"network\", \"telepathy\"]\n"), "capabilities[1]"),
            (format!("{GOOD}[limits]\nmemory_mib = 0\n"), "limits.memory_mib"),
            (format!("{GOOD}[limits]\nmemory_mib = 99999\n"), "limits.memory_mib"),
            (format!("{GOOD}[limits]\ndeadline_fraction = 1.5\n"), "limits.deadline_fraction"),
            (format!("{GOOD}colour = \"blue\"\n"), "colour"),
            (GOOD.replace("version = \"1.2.3\"\n", ""), "version"),
            (format!("{GOOD}[limits]\nmemory_mib = \"lots\"\n"), "limits.memory_mib"),
        ];
        for (text, field) in cases {
            match Manifest::from_toml(&text) {
                Err(PluginError::Manifest { field: f, reason }) => {
                    assert!(f.contains(field), "{text:?}: field {f:?} ({reason}), expected {field:?}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn capabilities_parse() {
        let m =
            Manifest::from_toml(&format!("{GOOD}capabilities = [\"network\", \"filesystem\", \"network\"]\n")).unwrap();
        assert_eq!(m.capabilities, [Capability::Network, Capability::Filesystem]);
    }
}
