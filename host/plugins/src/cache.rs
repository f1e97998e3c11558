//! The precompile cache: compiled components kept on disk so that restarts
//! do not recompile every plugin.
//!
//! Loading a compiled artifact runs native code that wasmtime trusts
//! blindly, so the cache loads only artifacts this host wrote: each file
//! carries an HMAC-SHA256 over the engine's identity, the component's hash
//! and the artifact, under a secret key that never leaves the cache folder
//! (mode 0600). A file that fails the check is deleted and the component is
//! compiled again; it is never deserialised.

use crate::runtime::Runtime;
use crate::store::hex;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

type HmacSha256 = Hmac<Sha256>;
const MAC_BYTES: usize = 32;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a verified cache file.
    Hit,
    /// Not cached: compiled and stored.
    Miss,
    /// A cache file failed its check: deleted, compiled again and stored.
    Rejected,
}

/// The cache failed (not a cache miss: those compile).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A cache file or the key could not be read or written.
    #[error("I/O error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The component does not compile.
    #[error("not a valid WebAssembly component")]
    Compile(#[source] wasmtime::Error),
}

/// A folder of compiled components for one engine configuration.
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
    engine_id: String,
}

impl CompileCache {
    /// Opens (creating) the cache in `dir` for `runtime`'s engine, making the
    /// secret key on first use.
    pub fn open(dir: &Path, runtime: &Runtime) -> Result<CompileCache, CacheError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        let key_path = dir.join("cache.key");
        let key = match fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                key
            }
            _ => {
                let mut key = [0u8; 32];
                fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut key))
                    .map_err(io(Path::new("/dev/urandom")))?;
                let tmp = dir.join(".cache.key.tmp");
                fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, &key))
                    .map_err(io(&tmp))?;
                fs::rename(&tmp, &key_path).map_err(io(&key_path))?;
                key
            }
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        runtime.engine().precompile_compatibility_hash().hash(&mut h);
        let engine_id = format!("{:016x}", h.finish());
        Ok(CompileCache { dir: dir.to_owned(), key, engine_id })
    }

    fn mac(&self, component_hash: &str, artifact: &[u8]) -> HmacSha256 {
        // The key is 32 bytes; HMAC takes keys of any length.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(self.engine_id.as_bytes());
        mac.update(component_hash.as_bytes());
        mac.update(artifact);
        mac
    }

    /// The compiled form of `wasm`: from the cache when a verified artifact
    /// is there, otherwise compiled and stored.
    pub fn component(&self, runtime: &Runtime, wasm: &[u8]) -> Result<(Component, CacheOutcome), CacheError> {
        let hash = hex(&Sha256::digest(wasm));
        let path = self.dir.join(format!("{hash}-{}.cwasm", self.engine_id));
        let mut outcome = CacheOutcome::Miss;
        if let Ok(file) = fs::read(&path) {
            match self.verified(&hash, &file) {
                Some(artifact) => match deserialize(runtime, artifact) {
                    Ok(component) => return Ok((component, CacheOutcome::Hit)),
                    Err(e) => tracing::warn!("cached {} does not load, recompiling: {e:#}", path.display()),
                },
                None => tracing::warn!("cached {} fails its MAC: deleted, recompiling", path.display()),
            }
            let _ = fs::remove_file(&path);
            outcome = CacheOutcome::Rejected;
        }
        let component = Component::new(runtime.engine(), wasm).map_err(CacheError::Compile)?;
        let artifact = component.serialize().map_err(CacheError::Compile)?;
        let mut file = self.mac(&hash, &artifact).finalize().into_bytes().to_vec();
        file.extend_from_slice(&artifact);
        let tmp = self.dir.join(format!(".{hash}.tmp"));
        fs::write(&tmp, &file)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|source| CacheError::Io { path: path.clone(), source })?;
        Ok((component, outcome))
    }

    /// The artifact in `file` if its MAC is ours.
    fn verified<'f>(&self, hash: &str, file: &'f [u8]) -> Option<&'f [u8]> {
        let (tag, artifact) = file.split_at_checked(MAC_BYTES)?;
        self.mac(hash, artifact).verify_slice(tag).ok()?;
        Some(artifact)
    }
}

/// Turns a verified artifact back into a component.
#[allow(unsafe_code)]
fn deserialize(runtime: &Runtime, artifact: &[u8]) -> Result<Component, wasmtime::Error> {
    // SAFETY: `Component::deserialize` requires bytes produced by
    // `serialize` on a compatible engine and not modified since. `artifact`
    // passed `CompileCache::verified`: its HMAC, under a key only this
    // host's cache folder holds, covers the engine identity and the bytes,
    // so they are what this host serialised. wasmtime also checks engine
    // compatibility itself.
    unsafe { Component::deserialize(runtime.engine(), artifact) }
}
