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
