//! The HTTPS certificate: a self-signed one made on first start (rcgen)
//! for the box's name and loopback addresses, kept under the state folder,
//! or one an admin installed through the API, which takes effect at once.

use crate::files::write_atomic;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the certificate or key failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM files do not hold a usable certificate and key.
    #[error("{0}")]
    Pem(String),
    /// Making the certificate failed.
    #[error("making the self-signed certificate: {0}")]
    Generate(String),
}

/// The certificate file under the state folder.
pub fn cert_path(state: &Path) -> PathBuf {
    state.join("tls").join("cert.pem")
}

fn key_path(state: &Path) -> PathBuf {
    state.join("tls").join("key.pem")
}

/// The names the certificate is made for: the host name, `localhost`, the
/// loopback addresses and the listening address when it is a specific one.
fn names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
    if !host.is_empty() && host != "localhost" {
        names.insert(0, host);
    }
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    names
}

fn pending(path: &Path) -> PathBuf {
    path.with_extension("pem.next")
}

/// Finishes an installation a crash interrupted: the new key and
/// certificate were both written (the certificate last) before either was
/// renamed into place, so a pending certificate means both are whole.
fn roll_forward(state: &Path) -> Result<(), TlsError> {
    let (cert, key) = (cert_path(state), key_path(state));
    if !pending(&cert).exists() {
        return Ok(());
    }
    for path in [&key, &cert] {
        if pending(path).exists() {
            std::fs::rename(pending(path), path).map_err(|source| TlsError::Io { path: path.clone(), source })?;
        }
    }
    tracing::warn!("finished installing the certificate an earlier run was installing");
    Ok(())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its key from PEM, checked to belong together.
/// The error names the field at fault (`certificate`, `private_key`).
fn certified(chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(format!("certificate: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Pem("certificate: no PEM certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Pem(format!("private_key: {e}")))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            TlsError::Pem("private_key: does not match the certificate's public key".into())
        }
        e => TlsError::Pem(format!("private_key: {e}")),
    })
}

/// The certificate the server presents, replaceable while it runs: new
/// connections get the new one, open ones keep theirs.
#[derive(Debug)]
pub struct Certificates {
    state: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

/// The SHA-256 of a certificate's DER, hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Certificates {
    /// The fingerprint of the certificate presented now.
    pub fn fingerprint(&self) -> String {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner).clone();
        current.end_entity_cert().map(fingerprint).unwrap_or_default()
    }

    /// Checks a certificate chain (PEM, the server's first) and its private
    /// key (PEM), keeps them under the state folder, and presents them from
    /// the next connection on. Nothing changes if they do not check out.
    pub fn install(&self, chain_pem: &str, key_pem: &str) -> Result<String, TlsError> {
        let key = certified(chain_pem.as_bytes(), key_pem.as_bytes())?;
        let (cert_file, key_file) = (cert_path(&self.state), key_path(&self.state));
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| TlsError::Io { path, source }
        };
        // Both written whole, the certificate last, then both renamed into
        // place: see roll_forward for a crash in between.
        write_atomic(&pending(&key_file), key_pem.as_bytes(), true).map_err(io(&key_file))?;
        write_atomic(&pending(&cert_file), chain_pem.as_bytes(), false).map_err(io(&cert_file))?;
        std::fs::rename(pending(&key_file), &key_file).map_err(io(&key_file))?;
        std::fs::rename(pending(&cert_file), &cert_file).map_err(io(&cert_file))?;
        let dir = cert_file.parent().unwrap_or(&self.state);
        std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))?;
        let print = key.end_entity_cert().map(fingerprint).unwrap_or_default();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(print)
    }
}

/// Loads the certificate and key, making a self-signed pair first if there
/// is none. Returns the rustls server configuration, the certificates it
/// presents (to replace them later) and whether they were made now.
pub fn server_config(
    state: &Path,
    listen: SocketAddr,
) -> Result<(Arc<rustls::ServerConfig>, Arc<Certificates>, bool), TlsError> {
    roll_forward(state)?;
    let (cert, key) = (cert_path(state), key_path(state));
    let made = !cert.exists() || !key.exists();
    if made {
        let generated =
            rcgen::generate_simple_self_signed(names(listen)).map_err(|e| TlsError::Generate(e.to_string()))?;
        // The key first: a certificate without its key would be kept.
        write_atomic(&key, generated.signing_key.serialize_pem().as_bytes(), true)
            .map_err(|source| TlsError::Io { path: key.clone(), source })?;
        write_atomic(&cert, generated.cert.pem().as_bytes(), false)
            .map_err(|source| TlsError::Io { path: cert.clone(), source })?;
    }
    let read = |path: &Path| std::fs::read(path).map_err(|source| TlsError::Io { path: path.to_owned(), source });
    let pair = certified(&read(&cert)?, &read(&key)?)
        .map_err(|e| TlsError::Pem(format!("{} and {}: {e}", cert.display(), key.display())))?;
    let certificates = Arc::new(Certificates { state: state.to_owned(), current: RwLock::new(Arc::new(pair)) });
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pem(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certificates.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), certificates, made))
}
