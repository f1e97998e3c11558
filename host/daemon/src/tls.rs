//! The HTTPS certificate: a self-signed one made on first start (rcgen)
//! for the box's name and loopback addresses, kept under the state folder,
//! or one an admin installed there.

use crate::files::write_atomic;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Loads the certificate and key, making a self-signed pair first if there
/// is none. Returns the rustls server configuration and whether it was made.
pub fn server_config(state: &Path, listen: SocketAddr) -> Result<(Arc<rustls::ServerConfig>, bool), TlsError> {
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
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect())
        .map_err(|e| TlsError::Pem(format!("{}: {e}", cert.display())))?;
    let private = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::Pem(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pem(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::Pem(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), made))
}
