//! Builds every guest component for `wasm32-wasip2`, the wasmtime way: a
//! nested `cargo build` into its own target directory, then one constant per
//! component with its path. A guest listed here that fails to build fails
//! the host build.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (crate, constant) for each guest component.
const GUESTS: &[(&str, &str)] = &[
    ("stagebox-guest-invert", "INVERT"),
    ("stagebox-guest-hostile", "HOSTILE"),
    ("stagebox-guest-net-probe", "NET_PROBE"),
    ("stagebox-guest-gain", "GAIN"),
    ("stagebox-guest-scte35", "SCTE35"),
    ("stagebox-guest-loudness", "LOUDNESS"),
    ("stagebox-guest-captions", "CAPTIONS"),
    ("stagebox-guest-timecode", "TIMECODE"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.parent().and_then(Path::parent).expect("guests/artifacts sits two levels down").to_owned();
    let target_dir = root.join("target").join("guests");
    // Guests build on host/media too (pure code shared with the host).
    for dir in ["wit", "guests", "host/media"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut consts = String::new();
    // One invocation per guest: each enables one SDK world, and cargo would
    // unify features across guests built together.
    for (krate, name) in GUESTS {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2", "--package", krate])
            .arg("--target-dir")
            .arg(&target_dir)
            // Guests are small: no debug info, so components stay small.
            .args(["--config", "profile.release.debug=false", "--config", "profile.release.strip=true"])
            // Whole-program optimisation: guests are small, and it is what
            // bundled plugins ship with.
            .args(["--config", "profile.release.lto=true", "--config", "profile.release.codegen-units=1"]);
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_RUSTFLAGS",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            cmd.env_remove(var);
        }
        let status = cmd.status().expect("running cargo for a guest");
        assert!(status.success(), "building guest {krate} for wasm32-wasip2 failed: {status}");
        let file = target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", krate.replace('-', "_")));
        assert!(file.is_file(), "guest {krate} built but {} is missing", file.display());
        consts.push_str(&format!(
            "/// The `{krate}` component.\npub const {name}: &str = {:?};\n",
            file.display().to_string()
        ));
    }
    consts.push_str(&format!(
        "/// Every guest component, by crate name.\npub const ALL: &[(&str, &str)] = &[{}];\n",
        GUESTS.iter().map(|(k, n)| format!("({k:?}, {n})")).collect::<Vec<_>>().join(", ")
    ));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("guests.rs");
    std::fs::write(&out, consts).expect("writing guests.rs");
}
