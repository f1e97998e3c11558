//! `stagebox captions`.

use anyhow::{Context, Result, bail};
use stagebox_media::captions::{self, CaptionSource, TextFormat};

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
    /// Takes the captions carried in the H.264 SEI (A/53 cc_data) of an
    /// MPEG transport stream and writes them as WebVTT or SRT (by the
    /// output's extension). Times start at the first video frame.
    Extract {
        /// The transport stream (.ts) to read.
        input: String,
        /// The WebVTT (.vtt) or SRT (.srt) file to write.
        output: String,
        /// The captions to take: cc1–cc4 (CEA-608) or service1–service63
        /// (CEA-708).
        #[arg(long, default_value = "cc1")]
        source: String,
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
        Command::Extract { input, output, source } => {
            let to = format_of(&output)?;
            if to == TextFormat::Scc {
                bail!("{output}: extract writes WebVTT or SRT; convert to SCC afterwards");
            }
            let source: CaptionSource = source.parse()?;
            let ts = std::fs::read(&input).with_context(|| format!("reading {input}"))?;
            let found = captions::extract_from_ts(&ts, source).with_context(|| format!("reading {input}"))?;
            let written = captions::write(&found.cues, to).with_context(|| format!("writing {output}"))?;
            std::fs::write(&output, written).with_context(|| format!("writing {output}"))?;
            let lost = found.ts.continuity_errors + found.ts.transport_errors + found.ts.malformed;
            eprintln!(
                "{} cues ({source}) from {} frames on PID {}: {input} -> {output}",
                found.cues.len(),
                found.frames,
                found.video_pid
            );
            if lost + found.captions.parity_errors + found.captions.bad_packets > 0 {
                eprintln!(
                    "warning: {lost} damaged or lost TS packets, {} 608 parity errors, {} bad 708 packets",
                    found.captions.parity_errors, found.captions.bad_packets
                );
            }
        }
    }
    Ok(())
}
