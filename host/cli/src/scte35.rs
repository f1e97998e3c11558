//! `stagebox scte35`.

use anyhow::{Context, Result};
use stagebox_media::scte35::SpliceInfoSection;
use std::io::Read as _;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Prints a cue (base64, or hex with or without 0x) as JSON.
    Decode {
        /// The splice_info_section, table_id 0xFC to CRC_32.
        cue: String,
    },
    /// Prints a cue given as JSON (the form `decode` prints) as base64.
    Encode {
        /// The JSON text, or `-` to read it from standard input.
        json: String,
        /// Print hex (0x…) instead of base64.
        #[arg(long)]
        hex: bool,
    },
}

pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Decode { cue } => {
            let section = SpliceInfoSection::from_text(&cue).context("decoding the cue")?;
            println!("{}", serde_json::to_string_pretty(&section)?);
        }
        Command::Encode { json, hex } => {
            let json = if json == "-" {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading standard input")?;
                text
            } else {
                json
            };
            let section: SpliceInfoSection = serde_json::from_str(&json).context("reading the cue's JSON")?;
            let text = if hex { section.to_hex() } else { section.to_base64() };
            println!("{}", text.context("encoding the cue")?);
        }
    }
    Ok(())
}
