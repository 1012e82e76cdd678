//! What a cargo or rustup run leaves in the environment of the programs it
//! starts, which a nested cargo must not inherit: xtask's builds and the
//! suite's build of the test plugins scrub the same list.

/// Variables set by cargo or rustup for an outer `cargo xtask` or `cargo test` that would
/// redirect a nested cargo (its rustc, target dir, flags or toolchain).
pub fn leaked_env() -> Vec<String> {
    const EXACT: &[&str] = &[
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_BOOTSTRAP",
        "RUSTUP_TOOLCHAIN",
        "RUST_RECURSION_COUNT",
        // xtask has a build script, so `cargo run` hands it an OUT_DIR; build
        // scripts that watch OUT_DIR (ring's, through cc) would rerun and
        // rebuild ring, rustls, ureq and polyplug-host at every nested cargo.
        "OUT_DIR",
    ];
    const KEEP: &[&str] = &[
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTR",
        "CARGO_TERM_",
    ];
    std::env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| {
            let cargo_set = (key.starts_with("CARGO_") && !KEEP.iter().any(|k| key.starts_with(k)))
                || key.starts_with("__CARGO");
            cargo_set || EXACT.contains(&key.as_str())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::leaked_env;

    #[test]
    fn scrubs_what_cargo_sets_and_keeps_the_user_settings() {
        // `cargo test` sets CARGO_PKG_NAME for this binary; OUT_DIR is what
        // `cargo run` sets for a package with a build script (xtask's).
        std::env::set_var("OUT_DIR", "/tmp/outer-build-script-out");
        let leaked = leaked_env();
        for key in ["CARGO_PKG_NAME", "CARGO_MANIFEST_DIR", "OUT_DIR"] {
            assert!(
                leaked.iter().any(|k| k == key),
                "{key} not scrubbed: {leaked:?}"
            );
        }
        assert!(!leaked.iter().any(|k| k == "CARGO_HOME" || k == "PATH"));
    }
}
