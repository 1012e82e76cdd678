//! The build request polyplug-js writes to the engine's stdin before the JS
//! source: which file this is, the exports in shim order, and the user host
//! functions in dispatcher order. Line based so the engine needs no parser
//! crate:
//!
//! ```text
//! polyplug-js-engine 1
//! file index.js
//! export greet
//! import kv_read 1
//! import kv_write 0
//!
//! <the JS source>
//! ```

pub struct Header {
    pub file: String,
    pub exports: Vec<String>,
    pub imports: Vec<HostImport>,
}

pub struct HostImport {
    pub name: String,
    pub has_result: bool,
}

const MAGIC: &str = "polyplug-js-engine 1";

impl Header {
    pub fn parse(input: &[u8]) -> Result<(Header, &[u8]), String> {
        let mut header = Header {
            file: "index.js".into(),
            exports: vec![],
            imports: vec![],
        };
        let mut rest = input;
        let mut first = true;
        loop {
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                return Err("the engine's build request has no blank line before the source: use polyplug-js".into());
            };
            let line = std::str::from_utf8(&rest[..end])
                .map_err(|_| "the engine's build request header is not UTF-8".to_string())?;
            rest = &rest[end + 1..];
            if first {
                if line != MAGIC {
                    return Err(format!("the engine expects a `{MAGIC}` build request, got `{line}`: use a matching polyplug-js"));
                }
                first = false;
                continue;
            }
            if line.is_empty() {
                return Ok((header, rest));
            }
            match line.split_once(' ') {
                Some(("file", name)) => header.file = name.to_string(),
                Some(("export", name)) => header.exports.push(name.to_string()),
                Some(("import", spec)) => {
                    let (name, has_result) = spec.split_once(' ').unwrap_or((spec, "0"));
                    header.imports.push(HostImport {
                        name: name.to_string(),
                        has_result: has_result == "1",
                    });
                }
                _ => {
                    return Err(format!(
                        "unknown line in the engine's build request: `{line}`"
                    ))
                }
            }
        }
    }
}
