//! Where the CLI keeps what `stagebox login` learnt: the box's URL, how to
//! trust its certificate (the fingerprint pinned on first use, or a CA
//! file), and the token. One TOML file, owner-only.
//!
//! The file is `$STAGEBOX_CLI_CONFIG`, or `$XDG_CONFIG_HOME/stagebox/cli.toml`,
//! or `~/.config/stagebox/cli.toml`.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

/// How the box's certificate is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Exactly this certificate (SHA-256 of its DER, hex), whoever signed it.
    Pinned(String),
    /// Any certificate for the box's name that chains to this CA file.
    CaFile(PathBuf),
}

/// A logged-in box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `https://box:8443`.
    pub url: String,
    /// How its certificate is trusted.
    pub trust: Trust,
    /// Who logged in.
    pub user: String,
    /// The bearer token.
    pub token: String,
}

/// The session file's path.
pub fn path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("STAGEBOX_CLI_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?).join(".config")
        }
    };
    Ok(base.join("stagebox").join("cli.toml"))
}

impl Session {
    /// The saved session; an error that says to log in when there is none.
    pub fn load() -> Result<Session> {
        let path = path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("not logged in: run `stagebox login https://BOX:8443` first")
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).with_context(|| format!("{} is not a session file", path.display()))
    }

    /// Saves the session, readable by the owner only, atomically.
    pub fn save(&self) -> Result<PathBuf> {
        let path = path()?;
        let dir = path.parent().context("the session file has no folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
        let tmp = path.with_extension("toml.tmp");
        let text = toml::to_string(self)?;
        {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Forgets the session; whether there was one.
    pub fn remove() -> Result<bool> {
        let path = path()?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
}
