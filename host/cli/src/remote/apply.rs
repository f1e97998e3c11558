//! `apply -f FILE`: create a resource from a JSON file, or change it (live,
//! if it runs) when one of that name exists. Pipelines and channels apply
//! the same way.

use super::client::Client;
use super::output::{cell, print};
use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// The JSON in `file` (`-`: standard input).
pub fn read_json(file: &Path) -> Result<Value> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading standard input")?;
        s
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// Creates or changes the resource under `collection` (such as
/// `/api/v1/channels`) that `file` describes; `what` names it in errors.
pub fn apply(client: &Client, collection: &str, what: &str, file: &Path, json: bool) -> Result<()> {
    let spec = read_json(file)?;
    let Some(name) = spec["name"].as_str().filter(|n| !n.is_empty()) else {
        bail!("{}: the {what} needs a \"name\"", file.display());
    };
    let exists = client.send(client.request(Method::GET, &format!("{collection}/{name}")));
    let (v, verb) = match exists {
        Ok(_) => (client.call(Method::PUT, &format!("{collection}/{name}"), Some(&spec))?, "changed"),
        Err(e) if e.to_string().starts_with("404 ") => (client.call(Method::POST, collection, Some(&spec))?, "created"),
        Err(e) => return Err(e),
    };
    let live = if verb == "changed" && v["running"] == true { " live" } else { "" };
    print(json, &v, |v| format!("{verb}{live} {}", cell(&v["name"])));
    Ok(())
}
