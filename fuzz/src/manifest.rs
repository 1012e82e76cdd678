//! The manifest target: polyplug-host's Extism manifest parser, then (for a
//! manifest that embeds its module) the load that reads it: which module,
//! its hash, the memory limits. Paths and URLs are parsed, never opened.

use polyplug_host::{ErrorKind, Manifest, Plugin, Wasm};

pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let manifest = match Manifest::from_json(text) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidManifest, "{e}");
            assert!(!e.message().is_empty());
            return;
        }
    };
    if manifest.wasm.iter().any(|w| matches!(w, Wasm::File { .. })) {
        return;
    }
    // No WASI, so allowed_paths are not opened either.
    let built = Plugin::builder(&crate::engine(), manifest)
        .with_logger(|_, _| {})
        .build();
    if let Err(e) = built {
        let expected = [
            ErrorKind::InvalidManifest,
            ErrorKind::InvalidModule,
            ErrorKind::UnknownImport,
            ErrorKind::MissingExport,
            ErrorKind::MemoryLimit,
        ];
        assert!(
            expected.contains(&e.kind()),
            "loading an embedded module failed with an unexpected kind: {e:?}"
        );
    }
}
