//! `stagebox login` and `stagebox logout`.

use super::client::Client;
use super::session::{Session, Trust};
use anyhow::{Context, Result, bail};
use clap::Args;
use reqwest::Method;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// `stagebox login`.
#[derive(Args)]
pub struct Login {
    /// The box: `https://BOX:8443`.
    pub url: String,
    /// The user name.
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Pin this certificate (its SHA-256, as `stageboxd` prints it at start).
    #[arg(long, conflicts_with_all = ["ca_file", "trust"])]
    pub fingerprint: Option<String>,
    /// Trust certificates signed by this CA (PEM) instead of pinning one.
    #[arg(long, conflicts_with = "trust")]
    pub ca_file: Option<PathBuf>,
    /// On first contact, pin whatever certificate the box offers, without
    /// asking.
    #[arg(long)]
    pub trust: bool,
}

/// Reads a secret: from stdin's first line with `from_stdin`, else from
/// the terminal without echo.
pub fn secret(prompt: &str, from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(line);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password on: use --password-stdin");
    }
    rpassword::prompt_password(prompt).context("reading the password")
}

fn normalise(fingerprint: &str) -> Result<String> {
    let hex: String = fingerprint.chars().filter(|c| *c != ':').collect::<String>().to_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--fingerprint: 64 hex digits (a SHA-256), colons allowed");
    }
    Ok(hex)
}

/// Decides how to trust the box, asking on first contact.
fn trust_for(args: &Login) -> Result<Trust> {
    if let Some(ca) = &args.ca_file {
        return Ok(Trust::CaFile(ca.clone()));
    }
    if let Some(f) = &args.fingerprint {
        return Ok(Trust::Pinned(normalise(f)?));
    }
    let url = args.url.trim_end_matches('/');
    // Logged in to this box before: keep what was trusted.
    if let Ok(s) = Session::load()
        && s.url == url
    {
        return Ok(s.trust);
    }
    // First contact: look at the certificate, then decide.
    let probe = Client::new(url, None, None)?;
    probe.send(probe.request(Method::GET, "/health"))?;
    let seen = probe.seen_fingerprint().context("the box offered no certificate")?;
    if args.trust {
        eprintln!("stagebox: pinned {url}'s certificate, SHA-256 {seen}");
        return Ok(Trust::Pinned(seen));
    }
    if !std::io::stdin().is_terminal() || args.password_stdin {
        bail!(
            "first contact with {url}: its certificate's SHA-256 is {seen}. Check it against what stageboxd \
             printed when it started, then log in again with --fingerprint {seen} (or --trust)"
        );
    }
    eprint!(
        "{url} offers a certificate with SHA-256\n  {seen}\nCheck it against what stageboxd printed. Trust it? [y/N] "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not trusted; nothing saved");
    }
    Ok(Trust::Pinned(seen))
}

/// Logs in and saves the session.
pub fn login(args: Login) -> Result<()> {
    let trust = trust_for(&args)?;
    let url = args.url.trim_end_matches('/').to_owned();
    let client = Client::new(&url, Some(&trust), None)?;
    let password = secret(&format!("{}'s password: ", args.user), args.password_stdin)?;
    let answer =
        client.call(Method::POST, "/api/v1/login", Some(&json!({ "username": args.user, "password": password })))?;
    let token = answer["token"].as_str().context("the login answer has no token")?.to_owned();
    let session = Session { url, trust, user: args.user.clone(), token };
    let path = session.save()?;
    eprintln!(
        "stagebox: logged in to {} as {} ({}); session in {}",
        session.url,
        args.user,
        answer["role"].as_str().unwrap_or("?"),
        path.display()
    );
    Ok(())
}

/// Forgets the session (the token stays valid until it expires or is
/// deleted with `stagebox tokens rm`).
pub fn logout() -> Result<()> {
    if Session::remove()? {
        eprintln!("stagebox: logged out");
    } else {
        eprintln!("stagebox: was not logged in");
    }
    Ok(())
}
