//! The Extism manifest: which wasm to load and what the plugin may touch.
//!
//! The JSON is the official runtime's, read strictly (`deny_unknown_fields`), so a
//! typo like `allowed_host` is an error instead of a silently open or closed door.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// Where the module's bytes come from, with an optional sha256 (hex) to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wasm {
    File { path: PathBuf, hash: Option<String> },
    Data { data: Vec<u8>, hash: Option<String> },
}

impl Wasm {
    pub fn file(path: impl Into<PathBuf>) -> Wasm {
        Wasm::File {
            path: path.into(),
            hash: None,
        }
    }

    pub fn data(data: impl Into<Vec<u8>>) -> Wasm {
        Wasm::Data {
            data: data.into(),
            hash: None,
        }
    }

    /// Requires the bytes to have this sha256 (hex).
    pub fn with_hash(self, sha256: impl Into<String>) -> Wasm {
        match self {
            Wasm::File { path, .. } => Wasm::File {
                path,
                hash: Some(sha256.into()),
            },
            Wasm::Data { data, .. } => Wasm::Data {
                data,
                hash: Some(sha256.into()),
            },
        }
    }

    pub(crate) fn hash(&self) -> Option<&str> {
        match self {
            Wasm::File { hash, .. } | Wasm::Data { hash, .. } => hash.as_deref(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Wasm::File { path, .. } => format!("wasm file {}", path.display()),
            Wasm::Data { data, .. } => format!("wasm data ({} bytes)", data.len()),
        }
    }

    /// The module bytes, checked against the hash when one is given.
    pub(crate) fn load(&self) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        let bytes =
            match self {
                Wasm::File { path, .. } => std::fs::read(path)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|e| {
                        crate::error::io(format!("cannot read wasm file {}", path.display()), e)
                    })?,
                Wasm::Data { data, .. } => std::borrow::Cow::Borrowed(data.as_slice()),
            };
        Ok(bytes)
    }

    pub(crate) fn check_hash(&self, sha: &[u8; 32]) -> Result<(), Error> {
        let Some(want) = self.hash() else {
            return Ok(());
        };
        let got = crate::engine::hex(sha);
        if !want.eq_ignore_ascii_case(&got) {
            return Err(Error::new(
                ErrorKind::InvalidModule,
                format!(
                    "{} has sha256 {got} but the manifest expects {want}: rebuild the plugin or update the hash",
                    self.describe()
                ),
            ));
        }
        Ok(())
    }
}

/// Limits on memory, in the manifest's `memory` object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLimits {
    /// Most 64 KiB pages the plugin's memory and the kernel memory may use together.
    #[serde(default, alias = "max")]
    pub max_pages: Option<u32>,
    /// Cap on one HTTP response body (default 50 MiB).
    #[serde(default)]
    pub max_http_response_bytes: Option<u64>,
    /// Cap on all vars of an instance together (default 1 MiB; 0 disables vars).
    #[serde(default)]
    pub max_var_bytes: Option<u64>,
}

pub(crate) const DEFAULT_MAX_VAR_BYTES: u64 = 1024 * 1024;
pub(crate) const DEFAULT_MAX_HTTP_RESPONSE_BYTES: u64 = 50 * 1024 * 1024;

/// The Extism manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub wasm: Vec<Wasm>,
    #[serde(default)]
    pub memory: MemoryLimits,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Host globs (`*.example.com`) that `http_request` may reach; none when empty.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// Host directory -> guest path, preopened for WASI. A host path starting with
    /// `ro:` is mounted read-only.
    #[serde(default)]
    pub allowed_paths: Option<BTreeMap<PathBuf, String>>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl Manifest {
    pub fn new(wasm: Wasm) -> Manifest {
        Manifest {
            wasm: vec![wasm],
            ..Manifest::default()
        }
    }

    pub fn from_json(json: &str) -> Result<Manifest, Error> {
        serde_json::from_str(json).map_err(|e| {
            Error::new(
                ErrorKind::InvalidManifest,
                format!("the manifest JSON is not valid: {e}"),
            )
        })
    }

    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    pub fn with_allowed_host(mut self, glob: impl Into<String>) -> Self {
        self.allowed_hosts
            .get_or_insert_with(Vec::new)
            .push(glob.into());
        self
    }

    pub fn with_allowed_path(mut self, host: impl Into<PathBuf>, guest: impl Into<String>) -> Self {
        self.allowed_paths
            .get_or_insert_with(BTreeMap::new)
            .insert(host.into(), guest.into());
        self
    }

    pub fn with_timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    pub fn with_memory_max_pages(mut self, pages: u32) -> Self {
        self.memory.max_pages = Some(pages);
        self
    }

    pub fn with_max_var_bytes(mut self, n: u64) -> Self {
        self.memory.max_var_bytes = Some(n);
        self
    }

    pub fn with_max_http_response_bytes(mut self, n: u64) -> Self {
        self.memory.max_http_response_bytes = Some(n);
        self
    }

    /// The one module polyplug links.
    pub(crate) fn main_wasm(&self) -> Result<&Wasm, Error> {
        match self.wasm.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::new(
                ErrorKind::InvalidManifest,
                "the manifest lists no wasm module: add one to `wasm`",
            )),
            many => Err(Error::new(
                ErrorKind::InvalidManifest,
                format!(
                    "the manifest lists {} wasm modules: polyplug links exactly one",
                    many.len()
                ),
            )),
        }
    }
}

/// One entry of `wasm` as written in JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWasm {
    path: Option<PathBuf>,
    data: Option<String>,
    url: Option<String>,
    hash: Option<String>,
    /// Extism's module name; polyplug links one module, so it is only accepted.
    #[serde(rename = "name")]
    _name: Option<String>,
}

impl<'de> Deserialize<'de> for Wasm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Wasm, D::Error> {
        use serde::de::Error as _;
        let raw = RawWasm::deserialize(d)?;
        match (raw.path, raw.data, raw.url) {
            (Some(path), None, None) => Ok(Wasm::File {
                path,
                hash: raw.hash,
            }),
            (None, Some(data), None) => {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(data.as_bytes())
                    .map_err(|e| D::Error::custom(format!("wasm `data` is not base64: {e}")))?;
                Ok(Wasm::Data {
                    data,
                    hash: raw.hash,
                })
            }
            (None, None, Some(url)) => Err(D::Error::custom(format!(
                "wasm `url` ({url}) is not supported: download the module and give its `path`"
            ))),
            _ => Err(D::Error::custom(
                "each wasm entry needs exactly one of `path` or `data`",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_official_json() {
        let m = Manifest::from_json(
            r#"{"wasm":[{"path":"a.wasm","hash":"ab"}],"config":{"k":"v"},
                "allowed_hosts":["*.example.com"],"allowed_paths":{"/tmp":"/data"},
                "memory":{"max_pages":4,"max_var_bytes":10},"timeout_ms":100}"#,
        )
        .unwrap();
        assert_eq!(
            m.wasm,
            vec![Wasm::File {
                path: "a.wasm".into(),
                hash: Some("ab".into())
            }]
        );
        assert_eq!(m.memory.max_pages, Some(4));
        assert_eq!(m.timeout_ms, Some(100));
    }

    #[test]
    fn unknown_fields_are_errors_that_name_them() {
        let e = Manifest::from_json(r#"{"wasm":[],"allowed_host":["x"]}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidManifest);
        assert!(e.message().contains("allowed_host"), "{e}");
        let e = Manifest::from_json(r#"{"wasm":[{"path":"a","data":"AA=="}]}"#).unwrap_err();
        assert!(e.message().contains("exactly one"), "{e}");
    }

    #[test]
    fn data_is_base64() {
        let m = Manifest::from_json(r#"{"wasm":[{"data":"AGFzbQ=="}]}"#).unwrap();
        assert_eq!(m.wasm[0], Wasm::data(b"\0asm".to_vec()));
    }
}
