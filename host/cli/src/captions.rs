//! `stagebox captions`.

use anyhow::{Context, Result, bail};
use stagebox_media::captions::{self, TextFormat};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Converts between SCC, WebVTT and SRT, chosen by file extension
    /// (.scc, .vtt, .srt). SCC is read and written as CC1 pop-on captions.
    Convert {
        /// The file to read.
        input: String,
        /// The file to write.
        output: String,
    },
}

fn format_of(path: &str) -> Result<TextFormat> {
    match TextFormat::from_extension(path) {
        Some(format) => Ok(format),
        None => bail!("{path}: unknown caption format; use .scc, .vtt or .srt"),
    }
}

pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Convert { input, output } => {
            let (from, to) = (format_of(&input)?, format_of(&output)?);
            let text = std::fs::read_to_string(&input).with_context(|| format!("reading {input}"))?;
            let cues = captions::read(&text, from).with_context(|| format!("reading {input}"))?;
            let written = captions::write(&cues, to).with_context(|| format!("writing {output}"))?;
            std::fs::write(&output, written).with_context(|| format!("writing {output}"))?;
            eprintln!("{} cues: {input} -> {output}", cues.len());
        }
    }
    Ok(())
}
