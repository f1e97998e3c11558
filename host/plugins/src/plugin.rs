//! Loading a plugin: compile, check its world and interface version, check
//! its imports against what it was granted, and link it.

use crate::bindings::since_v0_1_0::{self as v0_1, clock, log, metrics, types};
use crate::error::PluginError;
use crate::host::HostState;
use crate::manifest::{Capability, Manifest, World};
use crate::runtime::Runtime;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

/// The WIT package plugins implement.
pub const PACKAGE: &str = "stagebox:media";

/// A compiled, checked and linked plugin, ready to instantiate as nodes.
pub struct Plugin {
    runtime: Runtime,
    manifest: Manifest,
    version: (u64, u64, u64),
    granted: Vec<Capability>,
    pub(crate) pre: InstancePre<HostState>,
}

/// Import namespaces every plugin may use: the Stagebox host interfaces and
/// the parts of WASI that carry no authority (a plugin's stdio goes nowhere
/// but a small buffer; clocks and randomness reveal nothing).
const ALWAYS: &[&str] = &["stagebox:media/", "wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:random/"];

fn capability_of(import: &str) -> Option<Capability> {
    if import.starts_with("wasi:sockets/") {
        Some(Capability::Network)
    } else if import.starts_with("wasi:filesystem/") {
        Some(Capability::Filesystem)
    } else {
        None
    }
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
    let parsed = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(parsed)
}

impl Plugin {
    /// Compiles `wasm` and checks it against `manifest`. Of the capabilities
    /// the manifest asks for, only those in `grants` are given.
    pub fn load(
        runtime: &Runtime,
        wasm: &[u8],
        manifest: Manifest,
        grants: &[Capability],
    ) -> Result<Plugin, PluginError> {
        let component = Component::new(runtime.engine(), wasm).map_err(PluginError::Compile)?;
        Plugin::from_component(runtime, &component, manifest, grants)
    }

    /// As [`Plugin::load`], for a component already compiled on this engine.
    pub fn from_component(
        runtime: &Runtime,
        component: &Component,
        manifest: Manifest,
        grants: &[Capability],
    ) -> Result<Plugin, PluginError> {
        let engine = runtime.engine();
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
        let (world, version) = identify(&exports)?;
        if world != manifest.world {
            return Err(PluginError::WorldMismatch {
                manifest: manifest.world.name().to_owned(),
                component: world.name().to_owned(),
            });
        }
        let granted: Vec<Capability> = manifest.capabilities.iter().copied().filter(|c| grants.contains(c)).collect();
        for (import, _) in ty.imports(engine) {
            check_import(import, &manifest, &granted)?;
        }
        let mut linker = Linker::<HostState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(PluginError::Instantiate)?;
        types::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(PluginError::Instantiate)?;
        log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(PluginError::Instantiate)?;
        clock::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(PluginError::Instantiate)?;
        metrics::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(PluginError::Instantiate)?;
        let pre = linker.instantiate_pre(component).map_err(PluginError::Instantiate)?;
        Ok(Plugin { runtime: runtime.clone(), manifest, version, granted, pre })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The `stagebox:media` version the component was built against.
    pub fn interface_version(&self) -> (u64, u64, u64) {
        self.version
    }

    /// Capabilities the plugin asked for and was given.
    pub fn granted(&self) -> &[Capability] {
        &self.granted
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

/// Finds which world a component implements, from its export of
/// `stagebox:media/<interface>@<version>`, and checks the version.
fn identify(exports: &[String]) -> Result<(World, (u64, u64, u64)), PluginError> {
    for export in exports {
        let Some(rest) = export.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) else { continue };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let Some(world) = World::ALL.into_iter().find(|w| w.export() == iface) else { continue };
        let parsed = parse_version(version);
        // 0.x: a minor version is a breaking change, so this module serves
        // exactly 0.1.*, from MIN_VERSION on.
        let supported =
            parsed.is_some_and(|v| (v.0, v.1) == (v0_1::MIN_VERSION.0, v0_1::MIN_VERSION.1) && v >= v0_1::MIN_VERSION);
        return match parsed {
            Some(v) if supported => Ok((world, v)),
            _ => Err(PluginError::Version {
                found: if version.is_empty() { "none".into() } else { version.to_owned() },
                supported: format!(
                    "{}.{}.x from {}.{}.{}",
                    0,
                    1,
                    v0_1::MIN_VERSION.0,
                    v0_1::MIN_VERSION.1,
                    v0_1::MIN_VERSION.2
                ),
            }),
        };
    }
    Err(PluginError::NoWorld { exports: if exports.is_empty() { "nothing".into() } else { exports.join(", ") } })
}

fn check_import(import: &str, manifest: &Manifest, granted: &[Capability]) -> Result<(), PluginError> {
    if ALWAYS.iter().any(|p| import.starts_with(p)) {
        return Ok(());
    }
    let reason = match capability_of(import) {
        Some(cap) if granted.contains(&cap) => return Ok(()),
        Some(cap) if manifest.capabilities.contains(&cap) => {
            format!("which needs the `{}` capability: requested but not granted", cap.name())
        }
        Some(cap) => format!("which needs the `{}` capability, not requested in the manifest", cap.name()),
        None => "which this host does not provide".to_owned(),
    };
    Err(PluginError::Link { import: import.to_owned(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_and_versions_are_recognised() {
        let e = |s: &str| vec!["wasi:cli/run@0.2.0".to_owned(), s.to_owned()];
        assert_eq!(identify(&e("stagebox:media/video-processor@0.1.0")).unwrap(), (World::VideoNode, (0, 1, 0)));
        assert_eq!(identify(&e("stagebox:media/scte35@0.1.7")).unwrap(), (World::Scte35Policy, (0, 1, 7)));
        for bad in
            ["stagebox:media/audio-processor@0.2.0", "stagebox:media/audio-processor@1.1.0", "stagebox:media/captions"]
        {
            assert!(matches!(identify(&e(bad)), Err(PluginError::Version { .. })), "{bad}");
        }
        assert!(matches!(identify(&e("acme:thing/video-processor@0.1.0")), Err(PluginError::NoWorld { .. })));
    }
}
