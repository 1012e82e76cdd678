//! Reading insta's `.snap` files without insta, so the binary can compare against the
//! stored snapshots and can never write one. Format: a YAML header between two `---`
//! lines, then the body.

use std::path::{Path, PathBuf};

/// `<spec>__<case>`: a snapshot is named by spec and case, never by language.
pub fn snapshot_name(spec: &str, case: &str) -> String {
    format!("{spec}__{case}")
}

/// `fixtures/<spec>/snapshots/<spec>__<case>.snap`
pub fn snapshot_file(spec_dir: &Path, spec: &str, case: &str) -> PathBuf {
    spec_dir
        .join("snapshots")
        .join(format!("{}.snap", snapshot_name(spec, case)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    pub header: String,
    pub body: String,
}

impl SnapFile {
    pub fn parse(text: &str) -> Result<SnapFile, String> {
        let text = text.replace("\r\n", "\n");
        let rest = text.strip_prefix("---\n").ok_or(
            "does not start with an insta header (`---`): delete it and accept a new snapshot",
        )?;
        let end = rest
            .find("\n---\n")
            .map(|i| (i, i + 5))
            .or_else(|| rest.strip_suffix("\n---").map(|h| (h.len(), rest.len())))
            .ok_or(
                "the insta header is not closed by `---`: delete it and accept a new snapshot",
            )?;
        Ok(SnapFile {
            header: rest[..end.0].to_owned(),
            body: rest[end.1..].to_owned(),
        })
    }

    /// Whether `actual` is what this snapshot holds, the way insta compares
    /// (line endings and trailing whitespace do not count).
    pub fn matches(&self, actual: &str) -> bool {
        normalize(&self.body) == normalize(actual)
    }
}

pub(crate) fn normalize(s: &str) -> String {
    s.replace("\r\n", "\n").trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_body() {
        let s = SnapFile::parse(
            "---\nsource: x.rs\ndescription: d\n---\ncall 1: f(\"\")\n  status: ok\n",
        )
        .unwrap();
        assert_eq!(s.header, "source: x.rs\ndescription: d");
        assert!(s.matches("call 1: f(\"\")\n  status: ok"));
        assert!(!s.matches("call 1: f(\"\")\n  status: error"));
    }

    #[test]
    fn refuses_a_file_without_header() {
        assert!(SnapFile::parse("call 1").is_err());
    }
}
