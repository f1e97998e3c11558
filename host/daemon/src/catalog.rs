//! The plugins a node can name: the bundled ones that ship with the
//! firmware, and the uploaded ones an admin enabled. Each is compiled once
//! and shared by every node that runs it.
//!
//! Bundled plugins live in one folder (`/usr/lib/stagebox/plugins` on the
//! appliance) as `NAME.wasm` beside its manifest `NAME.toml`. They are part
//! of the signed firmware image, so they are trusted as they are and
//! cannot be deleted or disabled through the API.

use sha2::{Digest, Sha256};
use stagebox_plugins::{Manifest, Plugin, PluginStore, Runtime, World};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A plugin shipped with the firmware.
#[derive(Debug, Clone)]
pub struct Bundled {
    /// SHA-256 of the component, hex.
    pub hash: String,
    /// Its manifest.
    pub manifest: Manifest,
    /// The component file.
    pub wasm: PathBuf,
}

/// Bundled plugins, and every plugin compiled so far.
pub struct Catalog {
    bundled: Vec<Bundled>,
    runtime: Arc<Runtime>,
    uploaded: Arc<PluginStore>,
    loaded: Mutex<HashMap<String, Arc<Plugin>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the bundled plugins in `dir`. A missing folder is an empty one;
/// an entry that cannot be read is logged and left out.
fn read_bundled(dir: &Path) -> Vec<Bundled> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!("no bundled plugins: {} cannot be read", dir.display());
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let wasm = path.with_extension("wasm");
        let read = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| Manifest::from_toml(&text).map_err(|e| e.to_string()))
            .and_then(|manifest| {
                let bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
                Ok(Bundled { hash: hex(&Sha256::digest(&bytes)), manifest, wasm: wasm.clone() })
            });
        match read {
            Ok(b) => out.push(b),
            Err(e) => tracing::warn!("bundled plugin {} left out: {e}", path.display()),
        }
    }
    out.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    out
}

impl Catalog {
    /// The catalog of the bundled plugins in `dir` and the uploaded ones.
    pub fn new(dir: &Path, runtime: Arc<Runtime>, uploaded: Arc<PluginStore>) -> Catalog {
        Catalog { bundled: read_bundled(dir), runtime, uploaded, loaded: Mutex::default() }
    }

    /// The bundled plugins, by name.
    pub fn bundled(&self) -> &[Bundled] {
        &self.bundled
    }

    /// The plugin a node names (`name` or a hash), compiled, if it is
    /// bundled or uploaded and enabled (`enabled` says which are) and
    /// implements `world`. The error says why not, for the API.
    pub fn resolve(&self, name: &str, world: World, enabled: impl Fn(&str) -> bool) -> Result<Arc<Plugin>, String> {
        let uploaded = self.uploaded.list().map_err(|e| format!("reading the plugin store: {e}"))?;
        let is_hash = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        let matching: Vec<_> =
            uploaded.iter().filter(|p| if is_hash { p.hash == name } else { p.manifest.name == name }).collect();
        let live: Vec<_> = matching.iter().filter(|p| enabled(&p.hash)).collect();
        let (hash, manifest, wasm) = match live.as_slice() {
            [one] => (one.hash.clone(), one.manifest.clone(), None),
            [_, _, ..] => {
                return Err(format!("several enabled plugins are named {name:?}: name one by its hash"));
            }
            [] => match self.bundled.iter().find(|b| if is_hash { b.hash == name } else { b.manifest.name == name }) {
                Some(b) => (b.hash.clone(), b.manifest.clone(), Some(b.wasm.clone())),
                None if !matching.is_empty() => return Err(format!("plugin {name:?} is disabled: enable it first")),
                None => return Err(format!("no plugin {name:?}: upload it, or name a bundled one")),
            },
        };
        if manifest.world != world {
            return Err(format!(
                "{name:?} is a {} plugin; this node needs a {} plugin",
                manifest.world.name(),
                world.name()
            ));
        }
        if let Some(p) = self.loaded.lock().unwrap_or_else(PoisonError::into_inner).get(&hash) {
            return Ok(p.clone());
        }
        let bytes = match wasm {
            Some(path) => std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            None => self.uploaded.get(&hash).map_err(|e| format!("reading plugin {hash}: {e}"))?.0,
        };
        // An admin enabling a plugin grants what its manifest asks for.
        let grants = manifest.capabilities.clone();
        let plugin = Plugin::load(&self.runtime, &bytes, manifest, &grants).map_err(|e| format!("{e:#}"))?;
        let plugin = Arc::new(plugin);
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner).insert(hash, plugin.clone());
        Ok(plugin)
    }
}
