//! Paths of the guest components, built for `wasm32-wasip2` by this crate's
//! build script, and the bundle of plugins that ships with the appliance.
//! Used by the host's tests and benchmarks, and by `cargo xtask run`.

#![forbid(unsafe_code)]

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The plugins bundled with the appliance: (name, component, the folder
/// under `guests/` that holds its `plugin.toml`).
pub const BUNDLED: &[(&str, &str, &str)] = &[
    ("scte35", SCTE35, "scte35"),
    ("timecode", TIMECODE, "timecode"),
    ("captions", CAPTIONS, "captions"),
    ("loudness", LOUDNESS, "loudness"),
];

/// Writes the bundled plugins into `dir` as stageboxd reads them:
/// `NAME.wasm` beside its manifest `NAME.toml`.
pub fn install_bundled(dir: &Path) -> std::io::Result<()> {
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(dir)?;
    for (name, wasm, folder) in BUNDLED {
        std::fs::copy(wasm, dir.join(format!("{name}.wasm")))?;
        std::fs::copy(guests.join(folder).join("plugin.toml"), dir.join(format!("{name}.toml")))?;
    }
    Ok(())
}
