//! The compiler's error: callers branch on whether the plugin source is at
//! fault (show the message to its author) or the toolchain is (engine, I/O).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// index.js or index.d.ts is wrong: syntax, a missing export, a bad signature.
    Source,
    /// The engine module is missing, invalid or failed outside the plugin's code.
    Engine,
    /// A file could not be read or written.
    Io,
}

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn source(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Source,
            message: message.into(),
        }
    }
    pub fn engine(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Engine,
            message: message.into(),
        }
    }
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("{what}: {err}"),
        }
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
