//! Finds the third-party scripts the dashboard embeds (installed by
//! `npm ci --prefix host/daemon/dashboard`, which `cargo xtask setup`
//! runs, pinned by that folder's package-lock.json) and fails with the
//! command to run when they are missing.

use std::path::Path;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let hls = Path::new(&dir).join("dashboard/node_modules/hls.js/dist/hls.min.js");
    println!("cargo:rerun-if-changed={}", hls.display());
    println!("cargo:rerun-if-changed=dashboard/package-lock.json");
    if !hls.is_file() {
        eprintln!(
            "error: {} is missing. The dashboard's HLS player is built in from npm: run \
             `npm ci --prefix host/daemon/dashboard` (or `cargo xtask setup`).",
            hls.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rustc-env=STAGEBOX_HLS_JS={}", hls.display());
}
