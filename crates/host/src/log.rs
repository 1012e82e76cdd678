//! Plugin logs: the five `log_*` levels of the ABI, and the callback they go to.
//! Filtering happens here, before the message is even decoded, so a plugin that
//! logs at trace in a hot loop costs little when the level is info.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// A log level, ordered from chattiest to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The integer the ABI's `get_log_level` returns (trace = 0 .. error = 4).
    pub(crate) fn abi(self) -> i32 {
        self as i32
    }

    fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<LogLevel, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            _ => Err(Error::new(
                ErrorKind::InvalidManifest,
                format!("unknown log level `{s}`: use trace, debug, info, warn or error"),
            )),
        }
    }
}

pub(crate) type LogFn = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Where plugin logs go: a level filter and a callback.
#[derive(Clone)]
pub(crate) struct Logger {
    pub level: LogLevel,
    pub sink: LogFn,
}

impl Logger {
    /// Logs to stderr as `[level] message`, the default when no callback is given.
    pub fn stderr(level: LogLevel) -> Logger {
        Logger {
            level,
            sink: Arc::new(|level, msg| eprintln!("[{level}] {msg}")),
        }
    }

    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level
    }
}
