//! The commands pipelines and channels share: list, show, apply a JSON
//! file, start, stop, remove.

use super::apply::apply;
use super::client::Client;
use super::output::{cell, print};
use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;

/// `stagebox pipelines|channels ...`.
#[derive(Subcommand)]
pub enum Lifecycle {
    /// Every one, at a glance.
    Ls,
    /// One, with its live status.
    Show {
        /// Its name.
        name: String,
    },
    /// Creates what a JSON file describes, or changes it (live, if it
    /// runs) when it exists.
    Apply {
        /// The file (`-`: standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Starts it (and at every start of the box from then on).
    Start {
        /// Its name.
        name: String,
    },
    /// Stops it.
    Stop {
        /// Its name.
        name: String,
    },
    /// Stops and deletes it.
    Rm {
        /// Its name.
        name: String,
    },
}

/// How one kind of resource is shown.
pub struct Kind {
    /// Its collection, such as `/api/v1/channels`.
    pub collection: &'static str,
    /// Its name in messages ("channel").
    pub what: &'static str,
    /// The table of `ls`.
    pub rows: fn(&Value) -> String,
    /// The text of `show`.
    pub details: fn(&Value) -> String,
    /// The line after `start`.
    pub started: fn(&Value) -> String,
}

/// Runs a shared command on `kind`.
pub fn run(client: &Client, kind: &Kind, command: Lifecycle, json: bool) -> Result<()> {
    let one = |name: &str| format!("{}/{name}", kind.collection);
    match command {
        Lifecycle::Ls => print(json, &client.get(kind.collection)?, kind.rows),
        Lifecycle::Show { name } => print(json, &client.get(&one(&name))?, kind.details),
        Lifecycle::Apply { file } => apply(client, kind.collection, kind.what, &file, json)?,
        Lifecycle::Start { name } => {
            let v = client.call(Method::POST, &format!("{}/start", one(&name)), None)?;
            print(json, &v, kind.started);
        }
        Lifecycle::Stop { name } => {
            let v = client.call(Method::POST, &format!("{}/stop", one(&name)), None)?;
            print(json, &v, |v| format!("stopped {}", cell(&v["name"])));
        }
        Lifecycle::Rm { name } => {
            client.call(Method::DELETE, &one(&name), None)?;
            print(json, &json!({ "deleted": name }), |_| format!("deleted {name}"));
        }
    }
    Ok(())
}
