//! polyplug-js: compiles a JavaScript plugin written for extism-js
//! (`index.js` + `index.d.ts`) into an Extism wasm module, offline.
//!
//! The pipeline, as extism-js does it:
//! 1. read the exports and host functions from `index.d.ts` ([`dts`]),
//! 2. bundle the plugin's own imports when it has any ([`bundle`]),
//! 3. pre-initialise the QuickJS engine (crates/js-engine) with the source
//!    under Wizer, so the snapshot holds the evaluated plugin ([`snapshot`]),
//! 4. add one export per plugin function and the `extism:host/user` imports
//!    ([`shims`]).
//!
//! ```no_run
//! let engine = std::fs::read("target/js-engine/wasm32-wasip1/release/polyplug_js_engine.wasm")?;
//! let wasm = polyplug_js::build(std::path::Path::new("plugins-js/hello"), &engine)?;
//! std::fs::write("hello.wasm", wasm)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
pub mod dts;
pub mod engine;
mod error;
mod shims;
mod snapshot;

use std::path::Path;

pub use error::{Error, ErrorKind};

/// `polyplug-js <version> (QuickJS-ng via rquickjs <version>)`: what a build
/// manifest records as the JS toolchain.
pub const VERSION: &str = concat!(
    "polyplug-js ",
    env!("CARGO_PKG_VERSION"),
    " (QuickJS-ng via rquickjs 0.14.0)"
);

/// Builds the plugin in `dir` (which holds `index.js` and `index.d.ts`) on the
/// given engine module. The same inputs always give the same bytes.
pub fn build(dir: &Path, engine: &[u8]) -> Result<Vec<u8>, Error> {
    let dts_path = dir.join("index.d.ts");
    let dts_src = std::fs::read_to_string(&dts_path)
        .map_err(|e| Error::io(format_args!("cannot read {}", dts_path.display()), e))?;
    let iface = dts::parse(&dts_src, "index.d.ts")?;
    let (file, source) = bundle::source(dir)?;
    let snapshot = snapshot::preinitialize(engine, &iface, &file, &source)?;
    shims::link(&snapshot, &iface)
}
