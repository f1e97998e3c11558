//! `stagebox`: Stagebox's command-line tool.
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
mod scte35;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "stagebox", version, about = "Stagebox command-line tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    let result = match cli.command {
        Command::Scte35(c) => scte35::run(c),
        Command::Captions(c) => captions::run(c),
        Command::Loudness(a) => loudness::run(a),
    };
    if let Err(e) = result {
        eprintln!("stagebox: error: {e:#}");
        std::process::exit(1);
    }
}
