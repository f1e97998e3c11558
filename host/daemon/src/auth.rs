//! Passwords, tokens, roles and the failed-login limit.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What a user may do. Each role may do everything the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads status.
    Viewer,
    /// Also runs pipelines.
    Operator,
    /// Also manages users, tokens, plugins and the system.
    Admin,
}

/// Random bytes from the operating system's generator.
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The argon2id hash of `password` (a PHC string with its salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&random::<16>()).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new secret: `prefix` and 32 random bytes, URL-safe base64.
pub fn new_secret(prefix: &str, bytes: usize) -> String {
    let raw = random::<32>();
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..bytes.min(32)]))
}

/// A token's secret as stored: its SHA-256, in hex. Tokens carry 256
/// random bits, so a fast hash is enough (passwords get argon2).
pub fn token_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Failed logins per (user, client address) in a sliding minute.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: HashMap<(String, String), VecDeque<Instant>>,
}

impl LoginLimiter {
    const WINDOW: Duration = Duration::from_secs(60);

    fn recent(&mut self, key: &(String, String), now: Instant) -> usize {
        let Some(q) = self.failures.get_mut(key) else { return 0 };
        while q.front().is_some_and(|t| now.duration_since(*t) > Self::WINDOW) {
            q.pop_front();
        }
        q.len()
    }

    /// Whether another attempt is allowed now.
    pub fn allowed(&mut self, user: &str, from: &str, limit: u32, now: Instant) -> bool {
        self.recent(&(user.to_owned(), from.to_owned()), now) < limit as usize
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, user: &str, from: &str, now: Instant) {
        // Bounded: a flood of names cannot grow the map without limit.
        if self.failures.len() > 10_000 {
            self.failures.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) <= Self::WINDOW));
        }
        self.failures.entry((user.to_owned(), from.to_owned())).or_default().push_back(now);
    }

    /// Forgets failures after a success.
    pub fn succeeded(&mut self, user: &str, from: &str) {
        self.failures.remove(&(user.to_owned(), from.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        let (a, b) = (new_secret("sbx_", 32), new_secret("sbx_", 32));
        assert!(a.starts_with("sbx_") && a.len() == 47 && a != b);
        assert_eq!(token_hash("abc").len(), 64);
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }

    #[test]
    fn failed_logins_are_limited_per_user_and_address() {
        let mut l = LoginLimiter::default();
        let t = Instant::now();
        for _ in 0..3 {
            assert!(l.allowed("admin", "10.0.0.1", 3, t));
            l.failed("admin", "10.0.0.1", t);
        }
        assert!(!l.allowed("admin", "10.0.0.1", 3, t));
        assert!(l.allowed("admin", "10.0.0.2", 3, t), "another address is not blocked");
        assert!(l.allowed("admin", "10.0.0.1", 3, t + Duration::from_secs(61)), "the window slides");
        l.succeeded("admin", "10.0.0.1");
        assert!(l.allowed("admin", "10.0.0.1", 3, t));
    }
}
