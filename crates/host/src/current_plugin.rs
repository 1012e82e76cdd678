//! [`CurrentPlugin`]: everything one plugin instance owns on the host side (the
//! wasmtime store's data). Env functions and user host functions get it mutably.
//!
//! A host function that fails hands its typed [`Error`] to [`CurrentPlugin::fail`],
//! which keeps it here, because the error crosses wasm as an untyped trap; the call
//! site takes it back to report the right kind.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi::p1::WasiP1Ctx;

use crate::error::{Error, ErrorKind};
use crate::kernel::{Kernel, OverLimit};
use crate::log::Logger;
use crate::manifest::Manifest;
use crate::ticker::{Deadline, Ticker};

/// Kernel memory when `memory.max_pages` is not set: the official kernel lives in
/// a wasm32 memory, so it cannot hold more than this either.
pub(crate) const DEFAULT_KERNEL_LIMIT: u64 = 4 << 30;

/// What every instance of one plugin shares (read-only during calls).
pub(crate) struct Shared {
    pub manifest: Manifest,
    pub logger: Logger,
    pub user_data: Option<Arc<dyn Any + Send + Sync>>,
    pub max_var_bytes: u64,
    pub max_http_response_bytes: u64,
    /// `memory.max_pages` in bytes: plugin memory plus kernel memory.
    pub memory_budget: Option<u64>,
    /// The engine's epoch ticker, which a call's deadline keeps awake.
    pub ticker: Arc<Ticker>,
}

/// The host side of one plugin instance, given to host functions.
pub struct CurrentPlugin {
    pub(crate) kernel: Kernel,
    pub(crate) vars: BTreeMap<String, Vec<u8>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) wasi: Option<WasiP1Ctx>,
    pub(crate) http_status: u16,
    pub(crate) http_headers: Option<BTreeMap<String, String>>,
    /// When the running call must stop.
    pub(crate) deadline: Option<Deadline>,
    /// The typed error behind the trap that is unwinding, if a host function made it.
    pub(crate) pending: Option<Error>,
    /// Bytes of the plugin's own linear memory, for the shared memory budget.
    pub(crate) linear_bytes: u64,
}

impl CurrentPlugin {
    pub(crate) fn new(shared: Arc<Shared>, wasi: Option<WasiP1Ctx>) -> CurrentPlugin {
        let limit = shared.memory_budget.unwrap_or(DEFAULT_KERNEL_LIMIT);
        CurrentPlugin {
            kernel: Kernel::new(limit),
            vars: BTreeMap::new(),
            shared,
            wasi,
            http_status: 0,
            http_headers: None,
            deadline: None,
            pending: None,
            linear_bytes: 0,
        }
    }

    /// A plugin of no manifest, for a store that only defines linker items.
    pub(crate) fn scratch() -> CurrentPlugin {
        let shared = Shared {
            manifest: Manifest::default(),
            logger: Logger::stderr(crate::log::LogLevel::Error),
            user_data: None,
            max_var_bytes: 0,
            max_http_response_bytes: 0,
            memory_budget: None,
            ticker: Arc::default(),
        };
        CurrentPlugin::new(Arc::new(shared), None)
    }

    /// The bytes of a kernel memory block (a handle the guest or `memory_new` made).
    pub fn memory_bytes(&self, handle: u64) -> Result<&[u8], Error> {
        if handle == 0 {
            return Ok(&[]);
        }
        self.kernel
            .block(handle)
            .ok_or_else(|| not_a_handle("memory_bytes", handle))
    }

    /// A block as UTF-8 text.
    pub fn memory_str(&self, handle: u64) -> Result<&str, Error> {
        std::str::from_utf8(self.memory_bytes(handle)?).map_err(|e| {
            Error::new(
                ErrorKind::Trap,
                format!("kernel memory block {handle} is not UTF-8 text: {e}"),
            )
        })
    }

    /// Copies `bytes` into a new block and returns its handle (0 for no bytes).
    pub fn memory_new(&mut self, bytes: &[u8]) -> Result<u64, Error> {
        self.kernel.write_new(bytes).map_err(over_limit)
    }

    /// Frees a block; unknown handles are ignored, as in the official kernel.
    pub fn memory_free(&mut self, handle: u64) {
        self.kernel.free(handle);
    }

    /// The value given to `PluginBuilder::with_user_data`, if it has this type.
    pub fn user_data<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.shared.user_data.as_deref()?.downcast_ref::<T>()
    }

    /// Plugin config, as `config_get` sees it.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.shared.manifest.config.get(key).map(String::as_str)
    }

    /// Keeps `err` as the typed cause of the trap that the returned error starts.
    pub(crate) fn fail(&mut self, err: Error) -> wasmtime::Error {
        let msg = err.to_string();
        self.pending = Some(err);
        wasmtime::Error::msg(msg)
    }

    pub(crate) fn wasi_ctx(&mut self) -> &mut WasiP1Ctx {
        // The WASI linker is only used for plugins built with WASI on, and those
        // always get a context; a fresh one keeps this total rather than panicking.
        self.wasi
            .get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
    }

    /// Time left in the running call, None when it has no timeout.
    pub(crate) fn time_left(&self) -> Option<std::time::Duration> {
        self.deadline
            .as_ref()
            .map(|d| d.at.saturating_duration_since(Instant::now()))
    }
}

pub(crate) fn not_a_handle(function: &str, handle: u64) -> Error {
    Error::new(
        ErrorKind::Trap,
        format!("{function}: {handle} is not a kernel memory handle (already freed, or never allocated)"),
    )
}

pub(crate) fn over_limit(e: OverLimit) -> Error {
    Error::new(
        ErrorKind::MemoryLimit,
        format!(
            "kernel memory cannot allocate {} more bytes: it may hold {} bytes under memory.max_pages; raise memory.max_pages or free blocks",
            e.requested, e.limit
        ),
    )
}
