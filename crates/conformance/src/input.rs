//! Case inputs: how a fixture writes bytes (text, hex, base64, a file next to the
//! fixture, or a generated payload) and the resolved bytes the runner sends.

use std::path::Path;

use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Resolved input bytes plus how the snapshot describes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Input {
    pub bytes: Vec<u8>,
    /// Shown in the snapshot; generated and file inputs are described, not dumped.
    pub label: String,
    /// Text inputs may hold `{{http}}`, replaced by the runner's server address.
    pub template: bool,
}

impl Input {
    pub fn text(s: &str) -> Input {
        Input {
            bytes: s.as_bytes().to_vec(),
            label: format!("{s:?}"),
            template: true,
        }
    }
}

/// `input = "text"` or `input = { hex = "00ff" }` and friends.
#[derive(Debug, Clone)]
pub(crate) enum InputSource {
    Text(String),
    Table(InputTable),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputTable {
    text: Option<String>,
    hex: Option<String>,
    base64: Option<String>,
    /// Relative to the fixture's folder.
    file: Option<String>,
    /// N bytes of a fixed pattern, for the large cases.
    generate: Option<u64>,
}

/// Largest generated payload: beyond this a typo (an extra digit) would eat memory.
const MAX_GENERATED: u64 = 64 << 20;

impl<'de> Deserialize<'de> for InputSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InputSource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, or a table with one of text, hex, base64, file, generate")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InputSource, E> {
                Ok(InputSource::Text(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<InputSource, A::Error> {
                InputTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(InputSource::Table)
            }
        }
        d.deserialize_any(V)
    }
}

impl InputSource {
    /// The bytes, or a message naming what is wrong (the caller adds file and line).
    pub(crate) fn resolve(&self, fixture_dir: &Path) -> Result<Input, String> {
        let t = match self {
            InputSource::Text(s) => return Ok(Input::text(s)),
            InputSource::Table(t) => t,
        };
        let set = [
            t.text.is_some(),
            t.hex.is_some(),
            t.base64.is_some(),
            t.file.is_some(),
            t.generate.is_some(),
        ];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(
                "an input table needs exactly one of text, hex, base64, file, generate".into(),
            );
        }
        if let Some(s) = &t.text {
            return Ok(Input::text(s));
        }
        if let Some(h) = &t.hex {
            let bytes = decode_hex(h).map_err(|e| format!("input hex {h:?}: {e}"))?;
            return Ok(Input {
                label: format!("hex {}", spaced_hex(&bytes)),
                bytes,
                template: false,
            });
        }
        if let Some(b) = &t.base64 {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map_err(|e| {
                    format!("input base64 {b:?}: {e}: write standard base64 with padding")
                })?;
            return Ok(Input {
                label: format!("base64 {b}"),
                bytes,
                template: false,
            });
        }
        if let Some(f) = &t.file {
            let path = fixture_dir.join(f);
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "input file {}: {e}: the path is relative to the fixture's folder",
                    path.display()
                )
            })?;
            return Ok(Input {
                label: format!("file {f} ({} bytes)", bytes.len()),
                bytes,
                template: false,
            });
        }
        let n = t.generate.unwrap_or(0);
        if n > MAX_GENERATED {
            return Err(format!(
                "input generate = {n} is above the {MAX_GENERATED}-byte limit"
            ));
        }
        Ok(Input {
            bytes: generate(n as usize),
            label: format!("generated {n} bytes"),
            template: false,
        })
    }
}

/// The deterministic payload: a cycle of prime length, so it holds NUL bytes and
/// invalid UTF-8, and reversing it gives different bytes.
pub fn generate(n: usize) -> Vec<u8> {
    // One cycle, then copies of what is there: the suite makes inputs of up to
    // 64 MiB each run, and a byte-at-a-time loop in the test build took seconds.
    let mut out: Vec<u8> = (0..n.min(251)).map(|i| i as u8).collect();
    out.reserve_exact(n - out.len());
    while out.len() < n {
        let k = out.len().min(n - out.len());
        out.extend_from_within(..k);
    }
    out
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16);
            let lo = (p[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(format!(
                    "{:?} is not a hex byte",
                    String::from_utf8_lossy(p)
                )),
            }
        })
        .collect()
}

pub(crate) fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_spaces_and_rejects_junk() {
        assert_eq!(decode_hex("00 ff 41").unwrap(), vec![0, 255, 65]);
        assert!(decode_hex("0g").is_err());
        assert!(decode_hex("abc").is_err());
    }

    #[test]
    fn generated_payload_is_not_a_palindrome() {
        let g = generate(1000);
        let mut r = g.clone();
        r.reverse();
        assert_ne!(g, r);
        assert_eq!(g[251], 0);
        let long = generate(100_000);
        assert!(long.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        assert!(generate(0).is_empty() && generate(7) == [0, 1, 2, 3, 4, 5, 6]);
    }
}
