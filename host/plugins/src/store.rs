//! The plugin store: components kept on disk by SHA-256 content hash, with
//! their manifests and optional ed25519 signatures checked against the
//! admin's trusted keys.

use crate::error::PluginError;
use crate::manifest::Manifest;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// What a signature covers: a domain tag, then the SHA-256 of the component
/// and of the manifest text, so a signed plugin's capabilities cannot be
/// changed without breaking the signature.
pub fn signing_message(wasm: &[u8], manifest_toml: &str) -> Vec<u8> {
    let mut m = b"stagebox-plugin-signature-v1\0".to_vec();
    m.extend_from_slice(&Sha256::digest(wasm));
    m.extend_from_slice(&Sha256::digest(manifest_toml.as_bytes()));
    m
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the store could not be read or written.
    #[error("I/O error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is invalid.
    #[error("invalid manifest")]
    Manifest(#[source] PluginError),
    /// A trusted-key file is not a 32-byte ed25519 public key in hex.
    #[error("{path} is not an ed25519 public key (64 hex digits)")]
    BadKey {
        /// The key file.
        path: PathBuf,
    },
    /// The plugin is unsigned and this box only accepts signed plugins.
    #[error("the plugin is not signed and unsigned plugins are not allowed")]
    Unsigned,
    /// The signature is not valid for this component and manifest under any
    /// trusted key.
    #[error("the signature does not verify against any trusted key")]
    BadSignature,
    /// No plugin with that hash is stored.
    #[error("no stored plugin {0}")]
    NotFound(String),
    /// A stored component no longer matches its hash.
    #[error("stored plugin {hash} is corrupt: its content hashes to {found}")]
    Corrupt {
        /// The hash it is stored under.
        hash: String,
        /// What it hashes to now.
        found: String,
    },
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_owned(), source };
    let mut f = fs::File::create(path).map_err(io)?;
    std::io::Write::write_all(&mut f, bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StoreError::Io { path: dir.to_owned(), source })
}

/// Which signatures the store accepts.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    keys: Vec<(String, VerifyingKey)>,
    /// Whether plugins without a signature are accepted.
    pub allow_unsigned: bool,
}

impl TrustPolicy {
    /// Reads every `*.pub` file in `dir` (64 hex digits: an ed25519 public key).
    pub fn from_dir(dir: &Path, allow_unsigned: bool) -> Result<TrustPolicy, StoreError> {
        let mut keys = Vec::new();
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TrustPolicy { keys, allow_unsigned }),
            Err(source) => return Err(StoreError::Io { path: dir.to_owned(), source }),
        };
        for entry in entries {
            let path = entry.map_err(|source| StoreError::Io { path: dir.to_owned(), source })?.path();
            if path.extension().is_none_or(|e| e != "pub") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
            let bytes: [u8; 32] = unhex(&text)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::BadKey { path: path.clone() })?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|_| StoreError::BadKey { path: path.clone() })?;
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("key").to_owned();
            keys.push((name, key));
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(TrustPolicy { keys, allow_unsigned })
    }

    /// Which trusted key signed `message`, if any.
    fn signer(&self, message: &[u8], signature: &[u8; 64]) -> Option<&str> {
        let signature = Signature::from_bytes(signature);
        self.keys.iter().find(|(_, k)| k.verify(message, &signature).is_ok()).map(|(name, _)| name.as_str())
    }
}

/// A plugin kept in the store.
#[derive(Debug, Clone)]
pub struct StoredPlugin {
    /// SHA-256 of the component, hex: its name in the store.
    pub hash: String,
    /// Its validated manifest.
    pub manifest: Manifest,
    /// The trusted key (file stem) that signed it, if signed.
    pub signed_by: Option<String>,
}

/// Components and manifests on disk, by content hash.
pub struct PluginStore {
    dir: PathBuf,
    trust: TrustPolicy,
}

const COMPONENT: &str = "component.wasm";
const MANIFEST: &str = "manifest.toml";
const SIGNER: &str = "signed-by";

impl PluginStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path, trust: TrustPolicy) -> Result<PluginStore, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_owned(), source })?;
        Ok(PluginStore { dir: dir.to_owned(), trust })
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_owned(), source }
    }

    /// Checks and stores a plugin. Nothing is written unless the manifest is
    /// valid and the signature policy is met. Adding the same plugin twice
    /// is harmless.
    pub fn add(
        &self,
        wasm: &[u8],
        manifest_toml: &str,
        signature: Option<&[u8; 64]>,
    ) -> Result<StoredPlugin, StoreError> {
        let manifest = Manifest::from_toml(manifest_toml).map_err(StoreError::Manifest)?;
        let signed_by = match signature {
            Some(sig) => Some(
                self.trust
                    .signer(&signing_message(wasm, manifest_toml), sig)
                    .ok_or(StoreError::BadSignature)?
                    .to_owned(),
            ),
            None if self.trust.allow_unsigned => None,
            None => return Err(StoreError::Unsigned),
        };
        let hash = hex(&Sha256::digest(wasm));
        let target = self.dir.join(&hash);
        let staging = self.dir.join(format!(".{hash}.tmp"));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(Self::io(&staging))?;
        // Written and synced in staging, then renamed into place and the
        // rename synced: a crash leaves the plugin whole or not at all.
        write_synced(&staging.join(COMPONENT), wasm)?;
        write_synced(&staging.join(MANIFEST), manifest_toml.as_bytes())?;
        if let Some(signer) = &signed_by {
            write_synced(&staging.join(SIGNER), signer.as_bytes())?;
        }
        sync_dir(&staging)?;
        let _ = fs::remove_dir_all(&target);
        fs::rename(&staging, &target).map_err(Self::io(&target))?;
        sync_dir(&self.dir)?;
        Ok(StoredPlugin { hash, manifest, signed_by })
    }

    /// The component bytes and record of plugin `hash`. The bytes are
    /// hashed again on every read, so a file changed on disk is refused.
    pub fn get(&self, hash: &str) -> Result<(Vec<u8>, StoredPlugin), StoreError> {
        if unhex(hash).is_none_or(|b| b.len() != 32) {
            return Err(StoreError::NotFound(hash.to_owned()));
        }
        let dir = self.dir.join(hash);
        if !dir.is_dir() {
            return Err(StoreError::NotFound(hash.to_owned()));
        }
        let wasm = fs::read(dir.join(COMPONENT)).map_err(Self::io(&dir))?;
        let found = hex(&Sha256::digest(&wasm));
        if found != hash {
            return Err(StoreError::Corrupt { hash: hash.to_owned(), found });
        }
        let text = fs::read_to_string(dir.join(MANIFEST)).map_err(Self::io(&dir))?;
        let manifest = Manifest::from_toml(&text).map_err(StoreError::Manifest)?;
        let signed_by = fs::read_to_string(dir.join(SIGNER)).ok();
        Ok((wasm, StoredPlugin { hash: hash.to_owned(), manifest, signed_by }))
    }

    /// Every stored plugin, sorted by name.
    pub fn list(&self) -> Result<Vec<StoredPlugin>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(Self::io(&self.dir))? {
            let name = entry.map_err(Self::io(&self.dir))?.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() == 64 && unhex(name).is_some() {
                out.push(self.get(name)?.1);
            }
        }
        out.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(out)
    }

    /// Removes plugin `hash`.
    pub fn remove(&self, hash: &str) -> Result<(), StoreError> {
        self.get(hash).map(|_| ())?;
        let dir = self.dir.join(hash);
        fs::remove_dir_all(&dir).map_err(Self::io(&dir))
    }
}
