//! Trusting a box's certificate. A fresh box has a self-signed certificate
//! no CA vouches for, so the CLI does what ssh does: on first contact it
//! shows the certificate's SHA-256 (which `stageboxd` prints when it
//! starts) and, once accepted, pins it; from then on only that exact
//! certificate is accepted. A box with a real certificate can be trusted
//! through a CA file instead.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};

/// The SHA-256 of a certificate's DER, lower-case hex.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Accepts exactly one certificate, by fingerprint; or, on first contact
/// (`pinned` is `None`), any certificate, noting its fingerprint in
/// `seen` so the caller can show it and pin it.
#[derive(Debug)]
pub struct PinVerifier {
    pinned: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    /// A verifier for `pinned` (or first contact), noting what it sees.
    pub fn new(pinned: Option<String>, seen: Arc<Mutex<Option<String>>>) -> PinVerifier {
        PinVerifier { pinned, seen, provider: Arc::new(rustls::crypto::ring::default_provider()) }
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let print = fingerprint(end_entity);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(print.clone());
        match &self.pinned {
            Some(pin) if *pin != print => Err(rustls::Error::General(format!(
                "the box's certificate changed: pinned SHA-256 {pin}, offered {print}; \
                 if this is expected, log in again with --fingerprint {print}"
            ))),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    // The handshake signatures are still checked: the box must hold the
    // pinned certificate's key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A rustls client configuration that trusts by pin (or first contact).
pub fn pinned_config(
    pinned: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let verifier = PinVerifier::new(pinned, seen);
    let provider = verifier.provider.clone();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
