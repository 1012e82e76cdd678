//! The on-disk cache of compiled modules, keyed by the wasm's sha256 and the
//! engine's configuration.
//!
//! `Module::deserialize` trusts its input completely (it maps machine code), so a
//! cache entry is only used when it carries the header and payload hash this file
//! wrote; anything else (truncated write, a stray file, a disk error) is ignored
//! and the module is compiled again. Writes go to a temporary file that is renamed
//! into place, so a reader never sees half an entry.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 16] = b"polyplug-cwasm1\n";

pub(crate) struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    pub fn new(dir: PathBuf) -> DiskCache {
        DiskCache { dir }
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The verified payload of an entry, or None when there is no usable one.
    /// An entry that exists but is not usable says so in one line (it is
    /// compiled again and replaced); a missing one is silent.
    pub fn load(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.path(key);
        let bytes = fs::read(&path).ok()?;
        match verify(&bytes) {
            Ok(payload) => Some(payload.to_vec()),
            Err(why) => {
                reject(&path, why);
                None
            }
        }
    }

    /// Best effort: a cache that cannot be written only costs a recompile later.
    pub fn store(&self, key: &str, payload: &[u8]) {
        let _ = self.try_store(key, payload);
    }

    fn try_store(&self, key: &str, payload: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tmp = self
            .dir
            .join(format!(".{key}.{}.{nanos}.tmp", std::process::id()));
        let result = write_entry(&tmp, payload).and_then(|()| fs::rename(&tmp, self.path(key)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

/// The payload of an entry this cache wrote, or what is wrong with it.
fn verify(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not an entry of this cache")?;
    if rest.len() < 32 {
        return Err("truncated");
    }
    let (hash, payload) = rest.split_at(32);
    if Sha256::digest(payload).as_slice() != hash {
        return Err("its hash does not match: truncated or corrupt");
    }
    Ok(payload)
}

/// One line saying an entry is not used, and why.
pub(crate) fn reject(path: &Path, why: &str) {
    eprintln!(
        "polyplug: ignoring the cached compiled module {} ({why}): compiling it again",
        path.display()
    );
}

fn write_entry(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(MAGIC)?;
    file.write_all(&Sha256::digest(payload))?;
    file.write_all(payload)?;
    file.sync_all()
}

/// `$POLYPLUG_CACHE_DIR`, else `$XDG_CACHE_HOME/polyplug`, else `~/.cache/polyplug`.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("POLYPLUG_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("polyplug"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("polyplug"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(dir.path().to_path_buf());
        cache.store("k", b"payload");
        assert_eq!(cache.load("k").as_deref(), Some(&b"payload"[..]));

        let path = cache.path("k");
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.load("k"), None, "a flipped bit is detected");

        fs::write(&path, b"junk").unwrap();
        assert_eq!(cache.load("k"), None);
        assert_eq!(cache.load("missing"), None);
    }
}
