//! Choosing the captions to take from cc_data: a CEA-608 channel or a
//! CEA-708 service, decoded by one [`CcDecoder`].

use super::{CaptionError, Cea608Decoder, Cea708Decoder, Channel608, Cue};

/// Which captions a decoder takes from cc_data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionSource {
    /// A CEA-608 channel (cc_type 0 and 1).
    Cea608(Channel608),
    /// A CEA-708 service, 1–63 (cc_type 2 and 3).
    Cea708(u8),
}

impl Default for CaptionSource {
    fn default() -> Self {
        CaptionSource::Cea608(Channel608::Cc1)
    }
}

impl std::str::FromStr for CaptionSource {
    type Err = CaptionError;

    /// `cc1`–`cc4`, or `service1`–`service63`.
    fn from_str(s: &str) -> Result<CaptionSource, CaptionError> {
        let lower = s.to_ascii_lowercase();
        let source = match lower.as_str() {
            "cc1" => CaptionSource::Cea608(Channel608::Cc1),
            "cc2" => CaptionSource::Cea608(Channel608::Cc2),
            "cc3" => CaptionSource::Cea608(Channel608::Cc3),
            "cc4" => CaptionSource::Cea608(Channel608::Cc4),
            _ => match lower.strip_prefix("service").and_then(|n| n.parse::<u8>().ok()) {
                Some(n @ 1..=63) => CaptionSource::Cea708(n),
                _ => return Err(CaptionError::Source(s.to_owned())),
            },
        };
        Ok(source)
    }
}

impl std::fmt::Display for CaptionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptionSource::Cea608(c) => write!(f, "cc{}", *c as u8 + 1),
            CaptionSource::Cea708(n) => write!(f, "service{n}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for CaptionSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CaptionSource, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The caption converter plugin's configuration (JSON; every field
/// optional): `{"source": "service1"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConverterConfig {
    /// The captions `decode-cc` takes (default `cc1`).
    pub source: CaptionSource,
}

impl ConverterConfig {
    /// Reads the configuration; empty text is the default.
    pub fn from_json(text: &str) -> Result<ConverterConfig, serde_json::Error> {
        match text.trim() {
            "" => Ok(ConverterConfig::default()),
            text => serde_json::from_str(text),
        }
    }
}

/// What a [`CcDecoder`] counted: the 608 counters, or the 708 ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CcStats {
    /// 608 byte pairs dropped for bad parity.
    pub parity_errors: u64,
    /// 608 XDS packets skipped.
    pub xds_packets: u64,
    /// 708 packets dropped as malformed.
    pub bad_packets: u64,
}

// Boxed: a 608 decoder's two memories make it ~8 KB.
enum Inner {
    Cea608(Box<Cea608Decoder>),
    Cea708(Box<Cea708Decoder>),
}

/// Decodes one [`CaptionSource`] from cc_data into cues.
pub struct CcDecoder {
    inner: Inner,
}

impl CcDecoder {
    /// A decoder for `source`.
    pub fn new(source: CaptionSource) -> CcDecoder {
        let inner = match source {
            CaptionSource::Cea608(c) => Inner::Cea608(Box::new(Cea608Decoder::new(c))),
            CaptionSource::Cea708(n) => Inner::Cea708(Box::new(Cea708Decoder::new(n))),
        };
        CcDecoder { inner }
    }

    /// Feeds cc_data triplets carried at `pts` (ns); returns the cues that ended.
    pub fn decode_cc(&mut self, cc_data: &[u8], pts: u64) -> Vec<Cue> {
        match &mut self.inner {
            Inner::Cea608(d) => d.decode_cc(cc_data, pts),
            Inner::Cea708(d) => d.decode_cc(cc_data, pts),
        }
    }

    /// Ends what is on screen at `pts`.
    pub fn flush(&mut self, pts: u64) -> Vec<Cue> {
        match &mut self.inner {
            Inner::Cea608(d) => d.flush(pts),
            Inner::Cea708(d) => d.flush(pts),
        }
    }

    /// What the decoder counted so far.
    pub fn stats(&self) -> CcStats {
        match &self.inner {
            Inner::Cea608(d) => {
                let s = d.stats();
                CcStats { parity_errors: s.parity_errors, xds_packets: s.xds_packets, bad_packets: 0 }
            }
            Inner::Cea708(d) => CcStats { bad_packets: d.stats().bad_packets, ..CcStats::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sources_by_name() {
        for name in ["cc1", "cc2", "cc3", "cc4", "service1", "service63"] {
            assert_eq!(name.parse::<CaptionSource>().unwrap().to_string(), name);
        }
        assert_eq!("CC3".parse::<CaptionSource>().unwrap(), CaptionSource::Cea608(Channel608::Cc3));
        for bad in ["cc5", "service0", "service64", "", "service"] {
            assert!(bad.parse::<CaptionSource>().is_err(), "{bad}");
        }
        let config = ConverterConfig::from_json(r#"{"source": "service2"}"#).unwrap();
        assert_eq!(config.source, CaptionSource::Cea708(2));
        assert_eq!(ConverterConfig::from_json("").unwrap().source, CaptionSource::default());
        let err = ConverterConfig::from_json(r#"{"source": "cc9"}"#).unwrap_err().to_string();
        assert!(err.contains("cc1 to cc4"), "{err}");
    }
}
