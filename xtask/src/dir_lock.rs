//! An exclusive lock on a file in a folder, for work two processes must not
//! do at once in it. The lock goes with the process, also when it is killed.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

/// Locks `dir/name` (made if missing) until the file is dropped. When another
/// process holds it, prints `waiting` once, then waits for it.
pub fn hold(dir: &Path, name: &str, waiting: &str) -> Result<File> {
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => eprintln!("{waiting}"),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}
