//! Configuration, in layers: built-in defaults, then a TOML file, then
//! `STAGEBOX_*` environment variables, then command-line flags.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where state lives: the store, the TLS key and certificate, the
    /// first-start credential.
    pub state_dir: PathBuf,
    /// The HTTPS API's address.
    pub listen: SocketAddr,
    /// Failed logins allowed per user and client address per minute.
    pub login_attempts_per_minute: u32,
    /// Lifetime of a token made by logging in, in hours.
    pub session_hours: u64,
    /// Largest plugin upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Whether plugins without a signature from a trusted key (a `*.pub`
    /// file under `STATE/trusted-keys/`) may be uploaded.
    pub allow_unsigned_plugins: bool,
    /// Origins (`https://ops.example.com`) whose web pages may call the
    /// API from a browser. Empty, the default: CORS is off.
    pub cors_origins: Vec<String>,
    /// The flow domain pipelines write their flows into (a folder on
    /// tmpfs, shared with other processes that read or write flows).
    pub flow_domain: PathBuf,
    /// The most the domain's flows may occupy, in MiB.
    pub flow_quota_mib: u64,
    /// Where the plugins bundled with the firmware are (`NAME.wasm` beside
    /// `NAME.toml`).
    pub bundled_plugins: PathBuf,
    /// Whether a fresh state folder gets the demo pipelines, running.
    pub demo_pipelines: bool,
    /// A plain-HTTP address that serves the HLS streams, and nothing else,
    /// for players on closed networks. Unset, the default: streams are on
    /// the HTTPS address only.
    pub streams_http_listen: Option<SocketAddr>,
    /// Origins whose web pages may fetch the streams (players on other
    /// sites). Empty, the default: CORS is off for streams too.
    pub streams_cors_origins: Vec<String>,
    /// The RAUC command that installs firmware update bundles. Updates are
    /// refused where it is missing (anywhere but the appliance image).
    pub rauc: PathBuf,
    /// Largest update bundle accepted, in bytes.
    pub max_bundle_bytes: u64,
    /// The file that asks the system to reboot: the appliance's
    /// `stagebox-reboot.path` unit watches for it (the daemon itself may
    /// not reboot). Rebooting through the API is refused where its folder
    /// does not exist.
    pub reboot_flag: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: PathBuf::from("/var/lib/stagebox"),
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            login_attempts_per_minute: 5,
            session_hours: 12,
            max_upload_bytes: 64 << 20,
            allow_unsigned_plugins: false,
            cors_origins: Vec::new(),
            flow_domain: PathBuf::from("/dev/shm/stagebox/default"),
            flow_quota_mib: 2048,
            bundled_plugins: PathBuf::from("/usr/lib/stagebox/plugins"),
            demo_pipelines: true,
            streams_http_listen: None,
            streams_cors_origins: Vec::new(),
            rauc: PathBuf::from("/usr/bin/rauc"),
            max_bundle_bytes: 4 << 30,
            reboot_flag: PathBuf::from("/run/stagebox/reboot"),
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("{name}={value:?}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
}

/// What the command line said (flags override everything else).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--state-dir DIR`.
    pub state_dir: Option<PathBuf>,
    /// `--listen ADDR:PORT`.
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Builds the configuration from its layers. `env` is the process
    /// environment (a function so tests can give their own).
    pub fn load(flags: &Overrides, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let file = flags.config_file.clone().or_else(|| env("STAGEBOX_CONFIG").map(PathBuf::from));
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Toml { path, message: e.to_string() })?
            }
            None => Config::default(),
        };
        if let Some(v) = env("STAGEBOX_STATE_DIR") {
            config.state_dir = PathBuf::from(v);
        }
        if let Some(v) = env("STAGEBOX_FLOW_DOMAIN") {
            config.flow_domain = PathBuf::from(v);
        }
        if let Some(v) = env("STAGEBOX_BUNDLED_PLUGINS") {
            config.bundled_plugins = PathBuf::from(v);
        }
        if let Some(v) = env("STAGEBOX_DEMO_PIPELINES") {
            config.demo_pipelines = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "STAGEBOX_DEMO_PIPELINES",
                        value: v.clone(),
                        message: "true or false".into(),
                    });
                }
            };
        }
        if let Some(v) = env("STAGEBOX_LISTEN") {
            config.listen = v.parse().map_err(|e: std::net::AddrParseError| ConfigError::Env {
                name: "STAGEBOX_LISTEN",
                value: v.clone(),
                message: e.to_string(),
            })?;
        }
        if let Some(dir) = &flags.state_dir {
            config.state_dir = dir.clone();
        }
        if let Some(addr) = flags.listen {
            config.listen = addr;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stageboxd.toml");
        std::fs::write(&file, "state_dir = \"/srv/a\"\nlisten = \"127.0.0.1:9000\"\nsession_hours = 1\n").unwrap();
        let flags = Overrides { config_file: Some(file.clone()), ..Overrides::default() };
        let env = |name: &str| (name == "STAGEBOX_STATE_DIR").then(|| "/srv/b".to_owned());
        let c = Config::load(&flags, env).unwrap();
        assert_eq!((c.state_dir.to_str(), c.listen.port(), c.session_hours), (Some("/srv/b"), 9000, 1));
        let flags = Overrides { state_dir: Some("/srv/c".into()), listen: Some("[::1]:1".parse().unwrap()), ..flags };
        let c = Config::load(&flags, env).unwrap();
        assert_eq!((c.state_dir.to_str(), c.listen.to_string().as_str()), (Some("/srv/c"), "[::1]:1"));
        assert_eq!(Config::load(&Overrides::default(), |_| None).unwrap(), Config::default());
    }

    #[test]
    fn bad_layers_name_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listen = 8443\nsurprise = true\n").unwrap();
        let flags = Overrides { config_file: Some(file), ..Overrides::default() };
        let err = Config::load(&flags, |_| None).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("listen"), "{err}");
        let err =
            Config::load(&Overrides::default(), |n| (n == "STAGEBOX_LISTEN").then(|| "nowhere".into())).unwrap_err();
        assert!(err.to_string().contains("STAGEBOX_LISTEN=\"nowhere\""), "{err}");
    }
}
