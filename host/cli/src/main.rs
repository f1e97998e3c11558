//! `stagebox`: Stagebox's command-line tool.
//!
//! As a client of a box's HTTPS API (see `docs/cli.md`): `login`,
//! `logout`, `status`, `plugins`, `pipelines`, `channels`, `flows`, `events`, `audit`,
//! `users`, `tokens`, `tls`, `update`, `reboot`; tables for people, `--json` for scripts.
//!
//! Offline tools run the same code as the appliance's bundled plugins,
//! natively and with no daemon:
//!
//! - `stagebox scte35 decode <base64|hex>` prints the cue as JSON;
//! - `stagebox scte35 encode <json|->` prints the cue as base64;
//! - `stagebox captions convert <in> <out>` converts between SCC, WebVTT
//!   and SRT;
//! - `stagebox captions extract <file.ts> <out.vtt>` takes 608/708 captions
//!   from H.264 SEI;
//! - `stagebox loudness <file.wav>` prints the EBU R 128 figures.
//!
//! Errors go to stderr with their cause and the exit status is 1 (2 for bad
//! usage, as clap does).

#![forbid(unsafe_code)]

mod captions;
mod loudness;
mod remote;
mod scte35;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "stagebox",
    version,
    about = "Stagebox command-line tools: the box's API client, and offline media tools"
)]
struct Cli {
    /// Print the API's JSON instead of tables.
    #[arg(long = "json", global = true)]
    json_output: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Logs in to a box and keeps the session (its certificate pinned on
    /// first use, or trusted through a CA file).
    Login(remote::Login),
    /// Forgets the session.
    Logout,
    /// The box: version, uptime, hardware, clock, certificate.
    Status,
    /// Whether the box answers.
    Health,
    /// The box's metrics, in the Prometheus text format.
    Metrics,
    /// Plugins: list, show, upload, remove, enable, disable.
    #[command(subcommand)]
    Plugins(remote::Plugins),
    /// Pipelines: list, show, apply a JSON file, start, stop, remove.
    #[command(subcommand)]
    Pipelines(remote::Pipelines),
    /// Distributor channels: list, show, apply a JSON file, start, stop,
    /// remove, select the input, add and remove outputs, timeline markers.
    #[command(subcommand)]
    Channels(remote::Channels),
    /// Flows in the box's domain.
    #[command(subcommand)]
    Flows(remote::Flows),
    /// Follows the box's live events.
    Events(remote::Events),
    /// The audit log.
    #[command(subcommand)]
    Audit(remote::Audit),
    /// Users (admin).
    #[command(subcommand)]
    Users(remote::Users),
    /// API tokens.
    #[command(subcommand)]
    Tokens(remote::Tokens),
    /// The box's TLS certificate.
    #[command(subcommand)]
    Tls(remote::Tls),
    /// Firmware updates: the root slots, installing a signed bundle.
    #[command(subcommand)]
    Update(remote::Update),
    /// Reboots the box (after an update: into the new slot).
    Reboot,
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// SCTE-35 cues: decode to JSON, encode from JSON.
    #[command(subcommand)]
    Scte35(scte35::Command),
    /// Captions: convert between SCC, WebVTT and SRT; extract from MPEG-TS.
    #[command(subcommand)]
    Captions(captions::Command),
    /// Loudness of a WAV file: EBU R 128 integrated, range, true peak.
    Loudness(loudness::Args),
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json_output;
    let result = match cli.command {
        Command::Login(a) => remote::login(a),
        Command::Logout => remote::logout(),
        Command::Status => remote::connect().and_then(|c| remote::status(&c, json)),
        Command::Health => remote::connect().and_then(|c| remote::health(&c, json)),
        Command::Metrics => remote::connect().and_then(|c| remote::metrics(&c)),
        Command::Plugins(cmd) => remote::connect().and_then(|c| remote::plugins(&c, cmd, json)),
        Command::Pipelines(cmd) => remote::connect().and_then(|c| remote::pipelines(&c, cmd, json)),
        Command::Channels(cmd) => remote::connect().and_then(|c| remote::channels(&c, cmd, json)),
        Command::Flows(cmd) => remote::connect().and_then(|c| remote::flows(&c, cmd, json)),
        Command::Events(a) => remote::connect().and_then(|c| remote::events(&c, a, json)),
        Command::Audit(cmd) => remote::connect().and_then(|c| remote::audit(&c, cmd, json)),
        Command::Users(cmd) => remote::connect().and_then(|c| remote::users(&c, cmd, json)),
        Command::Tokens(cmd) => remote::connect().and_then(|c| remote::tokens(&c, cmd, json)),
        Command::Tls(cmd) => remote::connect().and_then(|c| remote::tls(&c, cmd, json)),
        Command::Update(cmd) => remote::connect().and_then(|c| remote::update(&c, cmd, json)),
        Command::Reboot => remote::connect().and_then(|c| remote::reboot(&c, json)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "stagebox", &mut std::io::stdout());
            Ok(())
        }
        Command::Scte35(c) => scte35::run(c),
        Command::Captions(c) => captions::run(c),
        Command::Loudness(a) => loudness::run(a, json),
    };
    if let Err(e) = result {
        eprintln!("stagebox: error: {e:#}");
        std::process::exit(1);
    }
}
