//! Every error kind, and the promise that a failed call never poisons the next one.

mod common;

use common::{builder, engine, module};
use polyplug_host::{Engine, EngineConfig, ErrorKind, Manifest, Plugin, Wasm};

const LIMITS: &str = r#"
  (func (export "ok") (result i32) (call $out (call $copy_input)) (i32.const 0))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
  (func (export "grow") (result i32)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (i32.const 0))
  (func (export "kernel_bomb") (result i32)
    (loop $l (br_if $l (i64.ne (call $alloc (i64.const 1048576)) (i64.const 0))))
    (i32.const 0))
  (func $recurse (param i64) (result i64) (i64.add (call $recurse (local.get 0)) (i64.const 1)))
  (func (export "recurse") (result i32) (drop (call $recurse (i64.const 0))) (i32.const 0))
  (func (export "oob") (result i32)
    (drop (i64.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))))
    (i32.const 0))
  (func (export "grow_and_touch") (result i32)
    (local $at i32) (local $was i64)
    (local.set $at (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
    (local.set $was (i64.load (local.get $at)))
    (i64.store (local.get $at) (i64.const 7))
    (i32.wrap_i64 (local.get $was)))
  (func $inner (unreachable))
  (func (export "trap") (result i32) (call $inner) (i32.const 0))
  (func (export "bad_load") (result i32) (drop (call $load_u64 (i64.const -3))) (i32.const 0))
  (func (export "bad_input") (result i32) (drop (call $input_load_u64 (i64.const 1000))) (i32.const 0))
  (func (export "bad_output") (result i32) (call $output_set (i64.const 8) (i64.const -1)) (i32.const 0))
  (func (export "bad_error") (result i32) (call $error_set (i64.const 99999)) (i32.const 0))
  (func (export "junk_handles") (result i32)
    (local $i i64)
    (loop $l
      (call $free (i64.mul (local.get $i) (i64.const 7919)))
      (drop (call $length (i64.sub (i64.const 0) (local.get $i))))
      (drop (call $length_unsafe (i64.mul (local.get $i) (i64.const 104729))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (i64.const 10000))))
    (i32.const 0))
"#;

fn limits(f: impl FnOnce(Manifest) -> Manifest) -> Plugin {
    builder(&engine(), LIMITS, f).build().unwrap()
}

#[test]
fn endless_loop_times_out_and_the_next_call_runs() {
    let mut p = limits(|m| m.with_timeout_ms(50));
    let e = p.call("spin", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("timeout_ms = 50"), "{e}");
    assert_eq!(p.call("ok", b"after").unwrap(), b"after");
}

/// The epoch thread rests while no call has a deadline (ticker.rs); the first
/// timed call after a rest still ends at its timeout.
#[test]
fn a_timeout_after_a_quiet_second_still_ends_the_call() {
    let engine = engine();
    let mut untimed = builder(&engine, LIMITS, |m| m).build().unwrap();
    assert_eq!(untimed.call("ok", b"x").unwrap(), b"x");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let p = builder(&engine, LIMITS, |m| m.with_timeout_ms(50))
        .build()
        .unwrap();
    // On a thread, so a ticker that never wakes fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut p = p;
        for _ in 0..2 {
            let _ = tx.send(p.call("spin", b"").map(drop));
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
    });
    for round in 0..2 {
        let ended = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("call {round}: a 50 ms timeout did not end it in 10 s"));
        let e = ended.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    }
}

#[test]
fn fuel_runs_out() {
    let engine = engine();
    let mut p = builder(&engine, LIMITS, |m| m)
        .with_fuel(100_000)
        .build()
        .unwrap();
    let e = p.call("spin", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfFuel, "{e}");
    assert_eq!(
        p.call("ok", b"x").unwrap(),
        b"x",
        "fuel is refilled for each call"
    );
}

#[test]
fn memory_bomb_hits_max_pages() {
    let mut p = limits(|m| m.with_memory_max_pages(8));
    let e = p.call("grow", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MemoryLimit, "{e}");
    assert!(e.message().contains("max_pages = 8"), "{e}");
    assert_eq!(p.call("ok", b"x").unwrap(), b"x");

    // An allocation past the budget returns 0 (the bomb's loop ends there)
    // instead of trapping, as the Go SDK's kernel does; libextism fails the
    // call with a memory limit instead (the hostile spec declares it).
    p.call("kernel_bomb", b"").unwrap();
    assert_eq!(p.call("ok", b"y").unwrap(), b"y");

    let e = p.call("ok", &vec![0u8; 1 << 20]).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::MemoryLimit,
        "an input over the budget: {e}"
    );
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let mut p = limits(|m| m.with_timeout_ms(10_000));
    let e = p.call("recurse", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StackOverflow, "{e}");
    assert_eq!(p.call("ok", b"x").unwrap(), b"x");
}

/// With bounds checks compiled in instead of guard pages, every limit and trap
/// is the same error, and a reused pooled slot holds nothing of its last user.
#[test]
fn without_guard_pages_limits_and_traps_are_the_same() {
    let engine = Engine::with_config(EngineConfig {
        cache_dir: None,
        guard_pages: false,
        ..EngineConfig::default()
    })
    .unwrap();
    let template = builder(&engine, LIMITS, |m| {
        m.with_timeout_ms(5_000).with_memory_max_pages(64)
    })
    .build()
    .unwrap();
    for round in 0..3 {
        let mut p = template.fresh();
        let e = p.call("oob", b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap, "round {round}: {e}");
        assert!(e.message().contains("out of bounds"), "{e}");
        // Returns what the new page held: the last round's 7 must be gone.
        p.call("grow_and_touch", b"").unwrap();
        let e = p.call("oob", b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap, "past the grown end too: {e}");
        assert_eq!(
            p.call("grow", b"").unwrap_err().kind(),
            ErrorKind::MemoryLimit
        );
        assert_eq!(
            p.call("recurse", b"").unwrap_err().kind(),
            ErrorKind::StackOverflow
        );
        assert_eq!(p.call("trap", b"").unwrap_err().kind(), ErrorKind::Trap);
        assert_eq!(p.call("ok", b"x").unwrap(), b"x");
    }
    let mut p = builder(&engine, LIMITS, |m| m.with_timeout_ms(50))
        .build()
        .unwrap();
    assert_eq!(p.call("spin", b"").unwrap_err().kind(), ErrorKind::Timeout);
}

#[test]
fn traps_carry_a_wasm_backtrace() {
    let mut p = limits(|m| m);
    let e = p.call("trap", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert!(e.message().contains("unreachable"), "{e}");
    let bt = e.wasm_backtrace().expect("a backtrace");
    assert!(bt.contains("inner"), "{bt}");
}

#[test]
fn guest_offsets_out_of_range_never_trap_and_strict_mode_says_where() {
    let strict = |on: bool| {
        builder(&engine(), LIMITS, |m| m.with_timeout_ms(5_000))
            .with_strict_memory(on)
            .build()
            .unwrap()
    };
    let (mut quiet, mut checked) = (strict(false), strict(true));
    for (function, needle) in [
        (
            "bad_load",
            "load_u64 at 18446744073709551613 (+8 bytes) is outside every live block",
        ),
        ("bad_input", "input_load_u64 at input index"),
        ("bad_output", "output_set"),
        ("bad_error", "error_set: 99999 is not a live block's handle"),
    ] {
        // The official kernel reads 0 and ignores the rest; so does polyplug.
        assert_eq!(quiet.call(function, b"tiny").unwrap(), b"", "{function}");
        assert!(
            quiet.take_memory_diagnostics().is_empty(),
            "{function}: only strict mode records"
        );
        assert_eq!(
            checked.call(function, b"tiny").unwrap(),
            b"",
            "{function}: strict keeps the result"
        );
        let d = checked.take_memory_diagnostics();
        assert_eq!(d.total(), 1, "{function}: {d:?}");
        let line = d.kept[0].to_string();
        assert!(line.starts_with(&format!("`{function}`: ")), "{line}");
        assert!(line.contains(needle), "{function}: {line}");
        assert_eq!(checked.call("ok", b"still fine").unwrap(), b"still fine");
        assert!(checked.take_memory_diagnostics().is_empty());
    }
}

#[test]
fn ten_thousand_invalid_handles_do_not_hurt_the_host() {
    let mut p = limits(|m| m);
    p.call("junk_handles", b"").unwrap();
    for _ in 0..10_000 {
        assert_eq!(p.call("bad_load", b"").unwrap(), b"");
    }
    assert_eq!(p.call("ok", b"alive").unwrap(), b"alive");
}

#[test]
fn bad_modules_are_invalid_module_errors() {
    let engine = engine();
    let e = Plugin::builder(
        &engine,
        Manifest::new(Wasm::data(b"\0asm\x01\0\0\0garbage".to_vec())),
    )
    .build()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModule, "{e}");

    let wasm = module(r#"(func (export "f") (result i32) (i32.const 0))"#);
    let e = Plugin::builder(
        &engine,
        Manifest::new(Wasm::data(wasm.clone()).with_hash("00ff")),
    )
    .build()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModule);
    assert!(e.message().contains("00ff"), "{e}");

    let sha = sha256_hex(&wasm);
    Plugin::builder(&engine, Manifest::new(Wasm::data(wasm).with_hash(sha)))
        .build()
        .unwrap();

    let e = Plugin::builder(
        &engine,
        Manifest::new(Wasm::file("/nonexistent/plugin.wasm")),
    )
    .build()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("/nonexistent/plugin.wasm"), "{e}");
}

#[test]
fn missing_exports_name_what_exists() {
    let mut p = limits(|m| m);
    let e = p.call("nope", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingExport);
    assert!(
        e.message().contains("`nope`") && e.message().contains("spin"),
        "{e}"
    );
}

#[test]
fn unknown_imports_name_module_and_field() {
    let engine = engine();
    let build = |wat: &str, wasi: bool| {
        Plugin::builder(
            &engine,
            Manifest::new(Wasm::data(wat::parse_str(wat).unwrap())),
        )
        .with_wasi(wasi)
        .build()
    };
    let e = build(r#"(module (import "env" "nope" (func)))"#, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownImport);
    assert!(e.message().contains("`env`.`nope`"), "{e}");

    let wasi = r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))"#;
    let e = build(wasi, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownImport);
    assert!(e.message().contains("--wasi"), "{e}");
    build(wasi, true).unwrap();

    let e = build(
        r#"(module (import "extism:host/env" "alloc" (func (param i32))))"#,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::UnknownImport,
        "a mistyped env import: {e}"
    );
    assert!(e.message().contains("alloc"), "{e}");

    let e = build(
        r#"(module (import "extism:host/user" "kv_read" (func)))"#,
        false,
    )
    .unwrap_err();
    assert!(e.message().contains("with_host_function"), "{e}");
}

#[test]
fn bad_manifests_are_invalid_manifest_errors() {
    let e = Manifest::from_json(r#"{"wasm":[{"path":"x.wasm"}],"timeout":5}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidManifest);
    assert!(e.message().contains("timeout"), "{e}");
    let e = Manifest::from_json(r#"{"memory":{"max_pages":"lots"}}"#).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidManifest);

    let engine = engine();
    let e = Plugin::builder(&engine, Manifest::default())
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidManifest);
    let e = Plugin::builder(&engine, Manifest::new(Wasm::data(module(""))))
        .with_wasi(true)
        .build()
        .map(|_| ())
        .and_then(|()| {
            Plugin::builder(
                &engine,
                Manifest::new(Wasm::data(module("")))
                    .with_allowed_path("/nonexistent/dir", "/data"),
            )
            .with_wasi(true)
            .build()
            .map(|_| ())
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidManifest);
    assert!(e.message().contains("/nonexistent/dir"), "{e}");
}

#[test]
fn categories_are_stable_names() {
    assert_eq!(ErrorKind::Timeout.category(), "timeout");
    assert_eq!(ErrorKind::OutOfFuel.category(), "out-of-fuel");
    assert_eq!(ErrorKind::MemoryLimit.category(), "memory-limit");
    assert_eq!(ErrorKind::StackOverflow.category(), "stack-overflow");
    assert_eq!(ErrorKind::PluginError.category(), "plugin-error");
    assert_eq!(ErrorKind::HttpDenied.category(), "http-denied");
    assert_eq!(ErrorKind::UnknownImport.category(), "unknown-import");
}

#[test]
fn compiled_modules_are_cached_on_disk_and_corrupt_entries_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let wasm = module(
        r#"(func (export "echo") (result i32) (call $out (call $copy_input)) (i32.const 0))"#,
    );
    let run = |engine: &Engine| {
        let mut p = Plugin::builder(engine, Manifest::new(Wasm::data(wasm.clone())))
            .build()
            .unwrap();
        assert_eq!(p.call("echo", b"cached").unwrap(), b"cached");
    };
    run(&Engine::with_config(config()).unwrap());
    let all: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        all.iter()
            .all(|p| p.extension().is_some_and(|e| e == "cwasm")),
        "no temporary files left: {all:?}"
    );
    // The plugin's, with the kernel accessors inlined: nothing compiles the
    // accessor module.
    assert_eq!(all.len(), 1, "one entry, the plugin's: {all:?}");
    let entry = &all[0];
    let good = std::fs::read(entry).unwrap();

    run(&Engine::with_config(config()).unwrap());

    let mut bad = good.clone();
    let n = bad.len();
    bad[n / 2] ^= 0x55;
    std::fs::write(entry, &bad).unwrap();
    run(&Engine::with_config(config()).unwrap());
    assert_eq!(
        std::fs::read(entry).unwrap(),
        good,
        "the corrupt entry was replaced by a fresh compile"
    );

    std::fs::write(entry, b"short").unwrap();
    run(&Engine::with_config(config()).unwrap());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_rewritten_wasm_file_is_loaded_again_and_hashes_are_always_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    let engine = engine();
    let says = |word: &str| {
        module(&format!(
            r#"(data (i32.const 1024) "{word}")
               (func (export "say") (result i32) (call $out (call $k (i32.const 1024) (i32.const {}))) (i32.const 0))"#,
            word.len()
        ))
    };
    let call = |hash: Option<String>| {
        let wasm = match hash {
            Some(h) => Wasm::file(&path).with_hash(h),
            None => Wasm::file(&path),
        };
        Plugin::builder(&engine, Manifest::new(wasm))
            .build()
            .and_then(|mut p| p.call("say", b""))
    };
    std::fs::write(&path, says("first")).unwrap();
    assert_eq!(call(None).unwrap(), b"first");
    assert_eq!(call(None).unwrap(), b"first");
    assert_eq!(
        call(Some("ab".repeat(32))).unwrap_err().kind(),
        ErrorKind::InvalidModule
    );

    // Same length, new content: the file is read again.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, says("other")).unwrap();
    assert_eq!(call(None).unwrap(), b"other");
    assert_eq!(call(Some(sha256_hex(&says("other")))).unwrap(), b"other");
}

#[test]
fn shared_memories_are_refused() {
    let e = Plugin::builder(
        &engine(),
        Manifest::new(Wasm::data(
            r#"(module (memory (export "memory") 1 1 shared))"#,
        )),
    )
    .build()
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidModule, "{e}");
    assert!(e.message().contains("defines a shared memory"), "{e}");
}

#[test]
fn a_full_instance_pool_is_a_clear_error_and_frees_up() {
    let engine = engine();
    let manifest = Manifest::new(Wasm::data(module(LIMITS)));
    let template = Plugin::builder(&engine, manifest).build().unwrap();
    let mut live: Vec<Plugin> = (0..polyplug_host::POOLED_INSTANCES)
        .map(|_| {
            let mut p = template.fresh();
            p.call("ok", b"x").unwrap();
            p
        })
        .collect();
    let e = template.fresh().call("ok", b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    assert!(
        e.message().contains("plugin instances are alive at once")
            && e.message().contains("pooling: false"),
        "{e}"
    );
    // Dropping one makes room for the next.
    live.pop();
    assert_eq!(template.fresh().call("ok", b"x").unwrap(), b"x");
}
