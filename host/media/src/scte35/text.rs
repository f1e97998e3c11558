//! Cues as text (base64 or hex), and byte fields in JSON.

use super::Scte35Error;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decodes a cue given as text: hex (optionally `0x`-prefixed, as threefive
/// and TSDuck print it) or base64 (as HLS tags carry it).
pub fn decode_text(text: &str) -> Result<Vec<u8>, Scte35Error> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return hex_decode(hex).ok_or_else(|| Scte35Error::Encoding("odd length or a non-hex digit after 0x".into()));
    }
    // A section starts with 0xFC: "fc" in hex, "/" in base64, so they do not
    // overlap.
    if text.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("fc"))
        && let Some(bytes) = hex_decode(text)
    {
        return Ok(bytes);
    }
    STANDARD.decode(text).map_err(|e| Scte35Error::Encoding(e.to_string()))
}

/// `bytes` as base64.
pub(crate) fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    // from_str_radix alone would take a sign ("+f").
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// Lower-case hex, two digits a byte (a table, not `format!` per byte: it
/// is on the path of every annotated cue).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Bytes that are usually text (ISCI, Ad-ID, URIs, DTMF digits). In JSON
/// they are a string when they are UTF-8 and `{"hex": "..."}` otherwise, so
/// nothing is lost either way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<u8>);

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => HexForm { hex: hex(&self.0) }.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Hex(HexForm),
        }
        match Form::deserialize(d)? {
            Form::Text(text) => Ok(Text(text.into_bytes())),
            Form::Hex(h) => hex_decode(&h.hex).map(Text).ok_or_else(|| serde::de::Error::custom("bad hex")),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HexForm {
    hex: String,
}

/// Serde for binary fields as a hex string.
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::hex_decode(text.strip_prefix("0x").unwrap_or(&text))
            .ok_or_else(|| serde::de::Error::custom("expected an even number of hex digits"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hex_and_base64_are_told_apart() {
        assert_eq!(decode_text("0xfc30").unwrap(), [0xFC, 0x30]);
        assert_eq!(decode_text("FC30").unwrap(), [0xFC, 0x30]);
        assert_eq!(decode_text("/DA=").unwrap(), [0xFC, 0x30]);
        assert!(decode_text("0xfc3").is_err());
        assert!(decode_text("not a cue!").is_err());
        // Not ASCII: an error, not a panic on a character boundary.
        assert!(decode_text("fé00").is_err());
        assert!(decode_text("0xé0").is_err());
    }

    #[test]
    fn text_keeps_non_utf8_bytes() {
        let t = Text(vec![0xFF, 0x41]);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"hex":"ff41"}"#);
        assert_eq!(serde_json::from_str::<Text>(&json).unwrap(), t);
        assert_eq!(serde_json::from_str::<Text>(r#""ABC""#).unwrap(), Text(b"ABC".to_vec()));
    }
}
