//! `stagebox users` and `stagebox tokens`.

use super::client::Client;
use super::login::secret;
use super::output::{cell, items, print, table, time};
use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

/// `stagebox users ...` (admin).
#[derive(Subcommand)]
pub enum Users {
    /// Every user.
    Ls,
    /// Makes a user; the password is asked for (or read with --password-stdin).
    Add {
        /// The name: 1 to 64 of a-z 0-9 . _ -.
        name: String,
        /// viewer, operator or admin.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Deletes a user and their tokens.
    Rm {
        /// The name.
        name: String,
    },
    /// Sets a user's password (yours, or anyone's as an admin).
    Passwd {
        /// The name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `stagebox tokens ...`.
#[derive(Subcommand)]
pub enum Tokens {
    /// Your tokens (an admin's: everyone's).
    Ls,
    /// Makes an API token for scripts; its secret is shown once.
    Create {
        /// What it is for.
        label: String,
        /// Its lifetime in hours (default 90 days).
        #[arg(long)]
        expires_hours: Option<u64>,
    },
    /// Revokes a token by its id.
    Rm {
        /// The id `tokens ls` shows.
        id: String,
    },
}

fn user_rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> =
        items(v, "users").iter().map(|u| vec![cell(&u["name"]), cell(&u["role"]), time(&u["created_ms"])]).collect();
    table(&["NAME", "ROLE", "CREATED (UTC)"], &rows)
}

fn token_rows(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(v, "tokens")
        .iter()
        .map(|t| vec![cell(&t["id"]), cell(&t["user"]), cell(&t["label"]), time(&t["expires_ms"])])
        .collect();
    table(&["ID", "USER", "LABEL", "EXPIRES (UTC)"], &rows)
}

/// Runs a `users` command.
pub fn users(client: &Client, command: Users, json: bool) -> Result<()> {
    match command {
        Users::Ls => print(json, &client.get("/api/v1/users")?, user_rows),
        Users::Add { name, role, password_stdin } => {
            let password = secret(&format!("{name}'s password: "), password_stdin)?;
            let body = json!({ "name": name, "password": password, "role": role });
            let u = client.call(Method::POST, "/api/v1/users", Some(&body))?;
            print(json, &u, |u| format!("made {} ({})", cell(&u["name"]), cell(&u["role"])));
        }
        Users::Rm { name } => {
            client.call(Method::DELETE, &format!("/api/v1/users/{name}"), None)?;
            print(json, &json!({ "deleted": name }), |_| format!("deleted {name} and their tokens"));
        }
        Users::Passwd { name, password_stdin } => {
            let password = secret(&format!("{name}'s new password: "), password_stdin)?;
            let path = format!("/api/v1/users/{name}/password");
            client.call(Method::PUT, &path, Some(&json!({ "password": password })))?;
            print(json, &json!({ "changed": name }), |_| format!("changed {name}'s password"));
        }
    }
    Ok(())
}

/// Runs a `tokens` command.
pub fn tokens(client: &Client, command: Tokens, json: bool) -> Result<()> {
    match command {
        Tokens::Ls => print(json, &client.get("/api/v1/tokens")?, token_rows),
        Tokens::Create { label, expires_hours } => {
            let mut body = json!({ "label": label });
            if let Some(h) = expires_hours {
                body["expires_hours"] = json!(h);
            }
            let t = client.call(Method::POST, "/api/v1/tokens", Some(&body))?;
            print(json, &t, |t| {
                format!(
                    "{}\n(id {}, expires {} UTC; shown once: keep it now)",
                    cell(&t["token"]),
                    cell(&t["id"]),
                    time(&t["expires_ms"])
                )
            });
        }
        Tokens::Rm { id } => {
            client.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)?;
            print(json, &json!({ "deleted": id }), |_| format!("revoked {id}"));
        }
    }
    Ok(())
}
