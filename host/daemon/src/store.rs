//! The embedded state store: users, tokens and the audit log in one redb
//! file. Every write is a transaction committed with fsync, so committed
//! state survives `kill -9` and power loss, and a failed request leaves
//! nothing half-written.

use crate::auth::Role;
use crate::pipeline::spec::PipelineSpec;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// Plugin hash → enabled (the components themselves live in the plugin store).
const PLUGINS_ENABLED: TableDefinition<&str, bool> = TableDefinition::new("plugins_enabled");
/// Pipeline name → [`PipelineRecord`].
const PIPELINES: TableDefinition<&str, &[u8]> = TableDefinition::new("pipelines");
/// Channel name → [`ChannelRecord`].
const CHANNELS: TableDefinition<&str, &[u8]> = TableDefinition::new("channels");
/// Flags the daemon keeps about itself (`demo_seeded`).
const META: TableDefinition<&str, bool> = TableDefinition::new("meta");

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused (I/O, corruption, a second opener).
    #[error("state store: {0}")]
    Db(String),
    /// A record does not decode.
    #[error("state store record: {0}")]
    Record(#[from] serde_json::Error),
}

fn db_err<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// What the user may do.
    pub role: Role,
    /// The argon2 hash of the password (PHC string).
    pub password_hash: String,
    /// When it was made, Unix ms.
    pub created_ms: u64,
}

/// A bearer token, stored by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Whose it is.
    pub user: String,
    /// What it is for ("login", or a name given when it was made).
    pub label: String,
    /// When it was made, Unix ms.
    pub created_ms: u64,
    /// When it stops working, Unix ms.
    pub expires_ms: u64,
}

/// One audited call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, Unix ms.
    pub at_ms: u64,
    /// Who (the user, or the name tried at login, or "-").
    pub who: String,
    /// The client's address.
    pub from: String,
    /// The method and path.
    pub what: String,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// A stored pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRecord {
    /// The graph.
    pub spec: PipelineSpec,
    /// Whether it should run (it is started again when the daemon starts).
    pub running: bool,
    /// When it was made, Unix ms.
    pub created_ms: u64,
    /// When it was last changed, Unix ms.
    pub updated_ms: u64,
}

/// A stored distributor channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// The description.
    pub spec: crate::channel::spec::ChannelSpec,
    /// Whether it should run (it is started again when the daemon starts).
    pub running: bool,
    /// When it was made, Unix ms.
    pub created_ms: u64,
    /// When it was last changed, Unix ms.
    pub updated_ms: u64,
}

/// What deleting a user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted, with their tokens.
    Done,
    /// There was no such user.
    Missing,
    /// Refused: the box would have no admin left.
    LastAdmin,
}

/// The store.
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or makes) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(USERS).map_err(db_err)?;
        txn.open_table(TOKENS).map_err(db_err)?;
        txn.open_table(AUDIT).map_err(db_err)?;
        txn.open_table(PLUGINS_ENABLED).map_err(db_err)?;
        txn.open_table(PIPELINES).map_err(db_err)?;
        txn.open_table(CHANNELS).map_err(db_err)?;
        txn.open_table(META).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Store { db })
    }

    fn get(&self, table: TableDefinition<&str, &[u8]>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(table).map_err(db_err)?;
        Ok(t.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }

    /// Every record of a JSON table, by key.
    fn all<T: serde::de::DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(table).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value().to_owned(), serde_json::from_slice(v.value())?));
        }
        Ok(out)
    }

    fn put(&self, table: TableDefinition<&str, &[u8]>, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(table).map_err(db_err)?.insert(key, value).map_err(db_err)?;
        txn.commit().map_err(db_err)
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.get(USERS, name)?.map(|v| serde_json::from_slice(&v).map_err(StoreError::from)).transpose()
    }

    /// Makes or replaces a user.
    pub fn put_user(&self, name: &str, user: &User) -> Result<(), StoreError> {
        self.put(USERS, name, &serde_json::to_vec(user)?)
    }

    /// How many users there are.
    pub fn user_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        txn.open_table(USERS).map_err(db_err)?.len().map_err(db_err)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<(String, User)>, StoreError> {
        self.all(USERS)
    }

    /// Makes a user; `Ok(false)` when the name is taken.
    pub fn create_user(&self, name: &str, user: &User) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = txn.open_table(USERS).map_err(db_err)?;
            if t.get(name).map_err(db_err)?.is_some() {
                return Ok(false);
            }
            t.insert(name, serde_json::to_vec(user)?.as_slice()).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(true)
    }

    /// Deletes a user and their tokens, unless they are the last admin.
    pub fn delete_user(&self, name: &str) -> Result<Deleted, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut users = txn.open_table(USERS).map_err(db_err)?;
            let Some(user) = users.get(name).map_err(db_err)?.map(|v| v.value().to_vec()) else {
                return Ok(Deleted::Missing);
            };
            let user: User = serde_json::from_slice(&user)?;
            if user.role == Role::Admin {
                let mut admins = 0;
                for entry in users.iter().map_err(db_err)? {
                    let (_, v) = entry.map_err(db_err)?;
                    admins += usize::from(serde_json::from_slice::<User>(v.value())?.role == Role::Admin);
                }
                if admins <= 1 {
                    return Ok(Deleted::LastAdmin);
                }
            }
            users.remove(name).map_err(db_err)?;
            let mut tokens = txn.open_table(TOKENS).map_err(db_err)?;
            tokens
                .retain(|_, v| serde_json::from_slice::<Token>(v).map_or(true, |t| t.user != name))
                .map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(Deleted::Done)
    }

    /// Every token (hash of its secret, token).
    pub fn tokens(&self) -> Result<Vec<(String, Token)>, StoreError> {
        self.all(TOKENS)
    }

    /// Deletes the token stored under `hash`; whether there was one.
    pub fn delete_token(&self, hash: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let removed = txn.open_table(TOKENS).map_err(db_err)?.remove(hash).map_err(db_err)?.is_some();
        txn.commit().map_err(db_err)?;
        Ok(removed)
    }

    /// Whether plugin `hash` is enabled (an unknown one is not).
    pub fn plugin_enabled(&self, hash: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(PLUGINS_ENABLED).map_err(db_err)?;
        Ok(t.get(hash).map_err(db_err)?.is_some_and(|v| v.value()))
    }

    /// Enables or disables plugin `hash`; `None` forgets it.
    pub fn set_plugin_enabled(&self, hash: &str, enabled: Option<bool>) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = txn.open_table(PLUGINS_ENABLED).map_err(db_err)?;
            match enabled {
                Some(on) => {
                    t.insert(hash, on).map_err(db_err)?;
                }
                None => {
                    t.remove(hash).map_err(db_err)?;
                }
            }
        }
        txn.commit().map_err(db_err)
    }

    /// A pipeline by name.
    pub fn pipeline(&self, name: &str) -> Result<Option<PipelineRecord>, StoreError> {
        self.get(PIPELINES, name)?.map(|v| serde_json::from_slice(&v).map_err(StoreError::from)).transpose()
    }

    /// Every pipeline, by name.
    pub fn pipelines(&self) -> Result<Vec<(String, PipelineRecord)>, StoreError> {
        self.all(PIPELINES)
    }

    /// Makes or replaces a pipeline.
    pub fn put_pipeline(&self, name: &str, record: &PipelineRecord) -> Result<(), StoreError> {
        self.put(PIPELINES, name, &serde_json::to_vec(record)?)
    }

    /// Deletes a pipeline; whether there was one.
    pub fn delete_pipeline(&self, name: &str) -> Result<bool, StoreError> {
        self.remove(PIPELINES, name)
    }

    /// A channel by name.
    pub fn channel(&self, name: &str) -> Result<Option<ChannelRecord>, StoreError> {
        self.get(CHANNELS, name)?.map(|v| serde_json::from_slice(&v).map_err(StoreError::from)).transpose()
    }

    /// Every channel, by name.
    pub fn channels(&self) -> Result<Vec<(String, ChannelRecord)>, StoreError> {
        self.all(CHANNELS)
    }

    /// Makes or replaces a channel.
    pub fn put_channel(&self, name: &str, record: &ChannelRecord) -> Result<(), StoreError> {
        self.put(CHANNELS, name, &serde_json::to_vec(record)?)
    }

    /// Deletes a channel; whether there was one.
    pub fn delete_channel(&self, name: &str) -> Result<bool, StoreError> {
        self.remove(CHANNELS, name)
    }

    fn remove(&self, table: TableDefinition<&str, &[u8]>, key: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let removed = txn.open_table(table).map_err(db_err)?.remove(key).map_err(db_err)?.is_some();
        txn.commit().map_err(db_err)?;
        Ok(removed)
    }

    /// Sets flag `name` and returns whether it was set before.
    pub fn set_flag(&self, name: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let was = txn.open_table(META).map_err(db_err)?.insert(name, true).map_err(db_err)?.is_some_and(|v| v.value());
        txn.commit().map_err(db_err)?;
        Ok(was)
    }

    /// A token by the hash of its secret.
    pub fn token(&self, hash: &str) -> Result<Option<Token>, StoreError> {
        self.get(TOKENS, hash)?.map(|v| serde_json::from_slice(&v).map_err(StoreError::from)).transpose()
    }

    /// Stores a token under the hash of its secret.
    pub fn put_token(&self, hash: &str, token: &Token) -> Result<(), StoreError> {
        self.put(TOKENS, hash, &serde_json::to_vec(token)?)
    }

    /// Appends to the audit log; returns the record's sequence number.
    pub fn append_audit(&self, record: &AuditRecord) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let seq = {
            let mut t = txn.open_table(AUDIT).map_err(db_err)?;
            let next = t.last().map_err(db_err)?.map_or(1, |(k, _)| k.value() + 1);
            t.insert(next, serde_json::to_vec(record)?.as_slice()).map_err(db_err)?;
            next
        };
        txn.commit().map_err(db_err)?;
        Ok(seq)
    }

    /// Audit records after sequence number `after`, oldest first, at most `limit`.
    pub fn audit(&self, after: u64, limit: usize) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(AUDIT).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in t.range(after.saturating_add(1)..).map_err(db_err)?.take(limit) {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value(), serde_json::from_slice(v.value())?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let user = User { role: Role::Operator, password_hash: "x".into(), created_ms: 1 };
        {
            let s = Store::open(&path).unwrap();
            s.put_user("ops", &user).unwrap();
            let rec = AuditRecord {
                at_ms: 5,
                who: "ops".into(),
                from: "127.0.0.1".into(),
                what: "POST /x".into(),
                status: 201,
            };
            assert_eq!(s.append_audit(&rec).unwrap(), 1);
            assert_eq!(s.append_audit(&rec).unwrap(), 2);
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.user("ops").unwrap(), Some(user));
        assert_eq!(s.user("nobody").unwrap(), None);
        assert_eq!(s.user_count().unwrap(), 1);
        assert_eq!(s.audit(1, 10).unwrap().iter().map(|(k, _)| *k).collect::<Vec<_>>(), [2]);
    }
}
