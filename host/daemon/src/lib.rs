//! `stageboxd`, the appliance daemon: configuration, the state store, the
//! HTTPS management API and the live pipelines.
//!
//! On a fresh state folder it makes what a box needs to be managed at
//! once: a self-signed TLS certificate for its names, and an `admin` user
//! whose password it writes to `admin-credential` (owner-only) and prints
//! once.

#![forbid(unsafe_code)]

mod accounts;
pub mod api;
pub mod auth;
pub mod catalog;
mod certificate;
pub mod channel;
pub mod channels;
pub mod config;
mod dashboard;
pub mod events;
mod files;
mod flows;
pub mod markers;
pub mod metrics;
pub mod pipeline;
pub mod pipelines;
mod plugins;
pub mod server;
pub mod store;
mod streams;
pub mod systemd;
pub mod thumbnail;
pub mod tls;
mod unread;
mod update;

use std::path::Path;

/// The first-start credential file, under the state folder.
pub fn credential_path(state: &Path) -> std::path::PathBuf {
    state.join("admin-credential")
}

/// On a store with no users, makes `admin` with a random password, writes
/// it to [`credential_path`] and returns it (to be printed once).
pub fn first_start(store: &store::Store, state: &Path) -> anyhow::Result<Option<String>> {
    if store.user_count()? > 0 {
        return Ok(None);
    }
    let password = auth::new_secret("", 18);
    let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    // The file first: a user whose password nobody can read would lock
    // the box.
    files::write_atomic(&credential_path(state), format!("user: admin\npassword: {password}\n").as_bytes(), true)?;
    let user = store::User { role: auth::Role::Admin, password_hash: hash, created_ms: api::now_ms() };
    store.put_user("admin", &user)?;
    Ok(Some(password))
}
