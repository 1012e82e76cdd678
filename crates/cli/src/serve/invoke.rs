//! Running calls: admission (at most `concurrency` running, `queue` waiting,
//! the rest refused), a fresh instance per call on a blocking thread, and the
//! request id that plugin log lines carry.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use polyplug_host::{Error, LogLevel};
use tokio::sync::Semaphore;

use super::catalog::Served;

thread_local! {
    /// The request whose call runs on this thread (0: none).
    static REQUEST: Cell<u64> = const { Cell::new(0) };
}

/// A plugin's log line, in the server's log with the request that made it.
pub fn log_plugin(plugin: &str, level: LogLevel, message: &str) {
    let request = REQUEST.with(Cell::get);
    eprintln!("[request {request}] {plugin}: {level}: {message}");
}

/// More calls are waiting than the server takes.
#[derive(Debug)]
pub struct Busy;

pub struct Workers {
    running: Arc<Semaphore>,
    admitted: AtomicUsize,
    /// Running plus waiting calls beyond which requests are refused.
    capacity: usize,
    in_use: AtomicI64,
}

/// One admitted call; dropping it (answered or abandoned) frees its place.
struct Admitted(Arc<Workers>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts an instance as in use until dropped (also if the call panics).
struct InUse<'a>(&'a AtomicI64);

impl<'a> InUse<'a> {
    fn enter(count: &'a AtomicI64) -> InUse<'a> {
        count.fetch_add(1, Ordering::AcqRel);
        InUse(count)
    }
}

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Workers {
    pub fn new(concurrency: usize, queue: usize) -> Arc<Workers> {
        Arc::new(Workers {
            running: Arc::new(Semaphore::new(concurrency)),
            admitted: AtomicUsize::new(0),
            capacity: concurrency + queue,
            in_use: AtomicI64::new(0),
        })
    }

    /// Instances running a call right now.
    pub fn in_use(&self) -> i64 {
        self.in_use.load(Ordering::Acquire)
    }

    /// Calls `export` on a fresh instance of `served`. A looping plugin holds
    /// its worker until its timeout; the others keep answering meanwhile.
    pub async fn call(
        self: &Arc<Self>,
        served: Arc<Served>,
        export: String,
        input: axum::body::Bytes,
        request: u64,
    ) -> Result<Result<Vec<u8>, Error>, Busy> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let admitted = Admitted(self.clone());
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let workers = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            // Held until the call ends, even if the client has gone.
            let _place = (admitted, permit);
            REQUEST.with(|r| r.set(request));
            let _in_use = InUse::enter(&workers.in_use);
            served.fresh().call(&export, &input)
        });
        Ok(task.await.unwrap_or_else(|e| {
            Err(Error::new(
                polyplug_host::ErrorKind::Trap,
                format!("the call's worker thread failed: {e}"),
            ))
        }))
    }
}
