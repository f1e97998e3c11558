//! The plugin store (hashes, signatures) and the precompile cache (only
//! artifacts this host wrote are ever loaded).

#![allow(clippy::unwrap_used)] // a test fails by panicking

use ed25519_dalek::{Signer, SigningKey};
use stagebox_guest_artifacts as guests;
use stagebox_plugins::*;
use std::sync::Arc;

const MANIFEST: &str = "name = \"invert\"\nversion = \"1.0.0\"\nworld = \"video-node\"\n";

fn wasm() -> Vec<u8> {
    std::fs::read(guests::INVERT).unwrap()
}

/// A store trusting one key ("studio"), and that key.
fn store(allow_unsigned: bool) -> (tempfile::TempDir, PluginStore, SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let public: String = key.verifying_key().to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(keys.join("studio.pub"), public).unwrap();
    let trust = TrustPolicy::from_dir(&keys, allow_unsigned).unwrap();
    let store = PluginStore::open(&dir.path().join("plugins"), trust).unwrap();
    (dir, store, key)
}

#[test]
fn signed_plugins_are_stored_by_content_hash() {
    let (dir, store, key) = store(false);
    let wasm = wasm();
    let sig = key.sign(&signing_message(&wasm, MANIFEST)).to_bytes();
    let stored = store.add(&wasm, MANIFEST, Some(&sig)).unwrap();
    assert_eq!(stored.hash.len(), 64);
    assert_eq!(stored.signed_by.as_deref(), Some("studio"));
    assert!(dir.path().join("plugins").join(&stored.hash).join("component.wasm").is_file());
    let (bytes, again) = store.get(&stored.hash).unwrap();
    assert_eq!(bytes, wasm);
    assert_eq!(again.manifest.name, "invert");
    assert_eq!(store.list().unwrap().len(), 1);
    store.remove(&stored.hash).unwrap();
    assert!(matches!(store.get(&stored.hash), Err(StoreError::NotFound(_))));
}

#[test]
fn bad_signatures_and_unsigned_plugins_are_refused() {
    let (_dir, store, key) = store(false);
    let wasm = wasm();
    let sig = key.sign(&signing_message(&wasm, MANIFEST)).to_bytes();
    // Unsigned, on a box that requires signatures.
    assert!(matches!(store.add(&wasm, MANIFEST, None), Err(StoreError::Unsigned)));
    // The signed component with one byte changed.
    let mut tampered = wasm.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(store.add(&tampered, MANIFEST, Some(&sig)), Err(StoreError::BadSignature)));
    // The signed component with capabilities added to its manifest.
    let widened = format!("{MANIFEST}capabilities = [\"network\"]\n");
    assert!(matches!(store.add(&wasm, &widened, Some(&sig)), Err(StoreError::BadSignature)));
    // Signed by a key the box does not trust.
    let stranger = SigningKey::from_bytes(&[9u8; 32]).sign(&signing_message(&wasm, MANIFEST)).to_bytes();
    assert!(matches!(store.add(&wasm, MANIFEST, Some(&stranger)), Err(StoreError::BadSignature)));
    // A bad manifest is refused with its field named, before anything is written.
    let err = store.add(&wasm, "name = \"x\"\nversion = \"1\"\nworld = \"video-node\"\n", None).unwrap_err();
    assert!(matches!(&err, StoreError::Manifest(PluginError::Manifest { field, .. }) if field == "version"), "{err}");
    assert!(store.list().unwrap().is_empty(), "nothing was stored");
    // Where the admin allows unsigned plugins, they load.
    let (_d, lenient, _) = store_allowing_unsigned();
    assert_eq!(lenient.add(&wasm, MANIFEST, None).unwrap().signed_by, None);
}

fn store_allowing_unsigned() -> (tempfile::TempDir, PluginStore, SigningKey) {
    store(true)
}

#[test]
fn a_component_changed_on_disk_is_refused() {
    let (dir, store, _) = store(true);
    let stored = store.add(&wasm(), MANIFEST, None).unwrap();
    let path = dir.path().join("plugins").join(&stored.hash).join("component.wasm");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(store.get(&stored.hash), Err(StoreError::Corrupt { .. })));
}

#[test]
fn precompile_cache_serves_hits_and_rejects_tampered_artifacts() {
    let runtime = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::open(dir.path(), &runtime).unwrap();
    let wasm = wasm();
    let (_, first) = cache.component(&runtime, &wasm).unwrap();
    assert_eq!(first, CacheOutcome::Miss);
    let (component, second) = cache.component(&runtime, &wasm).unwrap();
    assert_eq!(second, CacheOutcome::Hit);
    // A cached component runs like a fresh one.
    let manifest = Manifest::from_toml(MANIFEST).unwrap();
    let plugin = Arc::new(Plugin::from_component(&runtime, &component, manifest, &[]).unwrap());
    let limits =
        NodeLimits { deadline: std::time::Duration::from_secs(1), memory_bytes: 32 << 20, max_output_bytes: 1 << 20 };
    let mut node = VideoNode::new(plugin, "cached", "", limits).unwrap();
    let frame = types::VideoFrame {
        info: types::GrainInfo { index: 0, timestamp: 0, invalid: false },
        format: types::VideoFormat {
            pixel_format: types::PixelFormat::Rgba,
            width: 1,
            height: 1,
            stride: 4,
            rate: types::Rational { numerator: 25, denominator: 1 },
        },
        data: vec![1, 2, 3, 4],
    };
    assert_eq!(node.process(&frame).unwrap()[0].data, [254, 253, 252, 251]);

    // Flip one byte of the compiled code: rejected (never run), recompiled.
    let cwasm = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&cwasm, &bytes).unwrap();
    assert_eq!(cache.component(&runtime, &wasm).unwrap().1, CacheOutcome::Rejected);
    assert_eq!(cache.component(&runtime, &wasm).unwrap().1, CacheOutcome::Hit, "the rewritten artifact verifies");

    // A genuine artifact planted by someone without the key is rejected too.
    let planted = Component::new(runtime.engine(), &wasm).unwrap().serialize().unwrap();
    let mut forged = vec![0u8; 32];
    forged.extend_from_slice(&planted);
    std::fs::write(&cwasm, forged).unwrap();
    assert_eq!(cache.component(&runtime, &wasm).unwrap().1, CacheOutcome::Rejected);

    // The key file is private to the host.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("cache.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

use wasmtime::component::Component;
