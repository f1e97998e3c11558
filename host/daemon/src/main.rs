//! `stageboxd`: the Stagebox appliance daemon.

#![forbid(unsafe_code)]

use anyhow::Context;
use clap::Parser;
use stagebox_daemon::api::{self, AppState};
use stagebox_daemon::config::{Config, Overrides};
use stagebox_daemon::{credential_path, first_start, server, store::Store, systemd, tls};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The Stagebox appliance daemon.
#[derive(Parser)]
#[command(name = "stageboxd", version)]
struct Flags {
    /// A TOML configuration file (also STAGEBOX_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where state lives (also STAGEBOX_STATE_DIR; default /var/lib/stagebox).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// The HTTPS API's address (also STAGEBOX_LISTEN; default 0.0.0.0:8443).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

fn main() {
    let flags = Flags::parse();
    init_logging();
    if let Err(e) = run(flags) {
        tracing::error!("{e:#}");
        eprintln!("stageboxd: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(flags: Flags) -> anyhow::Result<()> {
    let overrides = Overrides { config_file: flags.config, state_dir: flags.state_dir, listen: flags.listen };
    let config = Config::load(&overrides, |name| std::env::var(name).ok())?;
    let state = config.state_dir.clone();
    std::fs::create_dir_all(&state).with_context(|| format!("making {}", state.display()))?;
    let store = Store::open(&state.join("state.redb"))?;
    if let Some(password) = first_start(&store, &state)? {
        // Printed once, on the first start only; the file keeps it.
        println!(
            "stageboxd: first start: user admin, password {password} (also in {})",
            credential_path(&state).display()
        );
    }
    let (tls_config, certificates, made) = tls::server_config(&state, config.listen)?;
    if made {
        tracing::info!("made a self-signed certificate: {}", tls::cert_path(&state).display());
    }
    // What `stagebox login --fingerprint` pins; clients compare it on first use.
    println!("stageboxd: certificate SHA-256 {}", certificates.fingerprint());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let streams_listener = match config.streams_http_listen {
            Some(at) => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("listening for plain-HTTP streams on {at}"))?,
            ),
            None => None,
        };
        let app_state = Arc::new(AppState::new(store, config, certificates)?);
        let bundled: Vec<&str> =
            app_state.engine.catalog().bundled().iter().map(|b| b.manifest.name.as_str()).collect();
        tracing::info!("bundled plugins: {}", if bundled.is_empty() { "none".into() } else { bundled.join(", ") });
        stagebox_daemon::pipelines::seed_demo(&app_state)?;
        let resuming = app_state.clone();
        tokio::task::spawn_blocking(move || stagebox_daemon::pipelines::resume(&resuming)).await??;
        stagebox_daemon::channels::resume(&app_state).await?;
        tokio::spawn(collect_stale_flows(app_state.clone()));
        let app = api::router(app_state.clone());
        if let Some(listener) = streams_listener {
            let at = listener.local_addr()?;
            println!("stageboxd: serving streams on http://{at}");
            tracing::info!("serving streams, and nothing else, on plain http://{at}");
            tokio::spawn(server::serve_plain(listener, api::streams_router(app_state.clone())));
        }
        let url = format!("https://{addr}");
        println!("stageboxd: listening on {url}");
        tracing::info!("serving the API on {url}");
        systemd::ready(&url);
        systemd::spawn_watchdog();
        server::serve(listener, tls_config, app, shutdown()).await;
        systemd::stopping();
        tokio::task::spawn_blocking(move || app_state.engine.stop_all()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

/// Removes flows other processes left behind in the domain (a writer that
/// died), every 10 s. Flows with a live writer are never touched.
async fn collect_stale_flows(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        tick.tick().await;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.engine.domain().collect_garbage()).await {
            Ok(Ok(report)) if !report.removed_flows.is_empty() || !report.removed_partial.is_empty() => {
                tracing::info!("removed stale flows: {report:?}");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("collecting stale flows: {e}"),
            Err(e) => tracing::warn!("collecting stale flows: {e}"),
        }
    }
}

/// Logs to journald under systemd (when it connected our stderr to the
/// journal), to stderr otherwise. `STAGEBOX_LOG` filters (default `info`).
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("STAGEBOX_LOG").unwrap_or_else(|_| "info".into());
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    match journald {
        Some(layer) => tracing_subscriber::registry().with(filter).with(layer).init(),
        None => tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init(),
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
