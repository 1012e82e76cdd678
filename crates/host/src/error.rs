//! The host's one error type. Callers (the CLI, the conformance runner) branch on
//! [`ErrorKind`], so every failure path picks a kind on purpose instead of leaking
//! a wasmtime or io error untyped.

use std::fmt;

/// What went wrong, coarse enough to branch on and to write into a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The call ran past `timeout_ms`.
    Timeout,
    /// The call used up the fuel given with `PluginBuilder::with_fuel`.
    OutOfFuel,
    /// Linear or kernel memory would grow past `memory.max_pages`, or a var or an
    /// HTTP response went over its byte limit.
    MemoryLimit,
    /// The wasm call stack was exhausted (unbounded recursion).
    StackOverflow,
    /// Any other wasm trap: unreachable, out-of-bounds access, a bad handle from the guest.
    Trap,
    /// The plugin reported failure: a non-zero return code or `error_set`.
    PluginError,
    /// `http_request` to a host (or a redirect target) outside `allowed_hosts`.
    HttpDenied,
    /// Other `http_request` failures: bad request JSON, connection errors.
    Http,
    /// The bytes are not a valid wasm module, or its hash does not match the manifest.
    InvalidModule,
    /// The export does not exist or has a type the host cannot call.
    MissingExport,
    /// The module imports something the host does not provide.
    UnknownImport,
    /// The manifest JSON or a builder value is wrong.
    InvalidManifest,
    /// Reading a wasm file, a preopened dir or the module cache failed.
    Io,
    /// WASI `proc_exit` with a non-zero code.
    Exit,
    /// The engine's instance pool is full: as many plugin instances as it
    /// holds are alive at once. Dropping one makes room.
    Busy,
}

impl ErrorKind {
    const ALL: [ErrorKind; 15] = [
        ErrorKind::Timeout,
        ErrorKind::OutOfFuel,
        ErrorKind::MemoryLimit,
        ErrorKind::StackOverflow,
        ErrorKind::Trap,
        ErrorKind::PluginError,
        ErrorKind::HttpDenied,
        ErrorKind::Http,
        ErrorKind::InvalidModule,
        ErrorKind::MissingExport,
        ErrorKind::UnknownImport,
        ErrorKind::InvalidManifest,
        ErrorKind::Io,
        ErrorKind::Exit,
        ErrorKind::Busy,
    ];

    /// The kind a category names (as another host reports it), if any.
    pub fn from_category(category: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|k| k.category() == category)
    }

    /// The stable name used in snapshots and on the command line.
    pub fn category(&self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::OutOfFuel => "out-of-fuel",
            ErrorKind::MemoryLimit => "memory-limit",
            ErrorKind::StackOverflow => "stack-overflow",
            ErrorKind::Trap => "trap",
            ErrorKind::PluginError => "plugin-error",
            ErrorKind::HttpDenied => "http-denied",
            ErrorKind::Http => "http",
            ErrorKind::InvalidModule => "invalid-module",
            ErrorKind::MissingExport => "missing-export",
            ErrorKind::UnknownImport => "unknown-import",
            ErrorKind::InvalidManifest => "invalid-manifest",
            ErrorKind::Io => "io",
            ErrorKind::Exit => "exit",
            ErrorKind::Busy => "busy",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.category())
    }
}

/// A failure with its kind, a message that names the thing and the fix, and the
/// wasm backtrace when a trap produced one.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    backtrace: Option<String>,
}

impl Error {
    /// An error of this kind; host functions return it (inside their `anyhow::Error`)
    /// to fail the call with that kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            backtrace: None,
        }
    }

    pub(crate) fn with_backtrace(mut self, backtrace: Option<String>) -> Error {
        self.backtrace = backtrace.filter(|b| !b.trim().is_empty());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without the kind or the backtrace.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The wasm frames at the trap, innermost first, when wasmtime captured them.
    pub fn wasm_backtrace(&self) -> Option<&str> {
        self.backtrace.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if f.alternate() {
            if let Some(bt) = &self.backtrace {
                write!(f, "\n{bt}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub(crate) fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {err}"))
}

/// The error for an instance that could not be made, [`ErrorKind::Busy`] when
/// the pool is full (it names the cap and the ways out).
pub(crate) fn instantiation(e: &wasmtime::Error, what: &str) -> Error {
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return Error::new(
            ErrorKind::Busy,
            format!(
                "{} plugin instances are alive at once, as many as the engine's pool holds: drop plugins that are done, or build the engine with EngineConfig {{ pooling: false, .. }} ({e:#})",
                crate::engine::POOLED_INSTANCES
            ),
        );
    }
    Error::new(
        ErrorKind::InvalidModule,
        format!("{what} does not instantiate: {e:#}"),
    )
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn every_category_names_its_kind_back() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_category(kind.category()), Some(kind));
        }
        assert_eq!(ErrorKind::from_category("no-such-category"), None);
    }
}
