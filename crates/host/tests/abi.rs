//! Every `extism:host/env` function, driven by small WAT plugins.

mod common;

use common::{builder, capture, engine, plugin};
use polyplug_host::{ErrorKind, LogLevel};

#[test]
fn input_and_output_by_offset() {
    let mut p = plugin(
        r#"(func (export "echo") (result i32)
             (call $output_set (call $input_offset) (call $input_length)) (i32.const 0))"#,
    );
    assert_eq!(p.call("echo", b"hello").unwrap(), b"hello");
    assert_eq!(p.call("echo", b"").unwrap(), b"");
}

#[test]
fn input_loads_and_stores_are_binary_safe_at_every_length() {
    let mut p = plugin(
        r#"(func (export "copy") (result i32) (call $out (call $copy_input)) (i32.const 0))"#,
    );
    for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 4096 + 3] {
        let input: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
        assert_eq!(p.call("copy", &input).unwrap(), input, "len {len}");
    }
    let tricky = b"\0\xff\xfe not utf-8 \0".to_vec();
    assert_eq!(p.call("copy", &tricky).unwrap(), tricky);
    let big = vec![0xabu8; 1 << 20];
    assert_eq!(p.call("copy", &big).unwrap(), big);
}

#[test]
fn alloc_length_load_store_and_free() {
    // Each check returns its own non-zero code, so a failure says which one.
    let mut p = plugin(
        r#"(func (export "check") (result i32)
             (local $a i64) (local $b i64)
             (local.set $a (call $alloc (i64.const 100)))
             (if (i64.eqz (local.get $a)) (then (return (i32.const 1))))
             (if (i64.ne (call $length (local.get $a)) (i64.const 100)) (then (return (i32.const 2))))
             (if (i64.ne (call $length_unsafe (local.get $a)) (i64.const 100)) (then (return (i32.const 3))))
             (call $store_u64 (i64.add (local.get $a) (i64.const 8)) (i64.const 0x0102030405060708))
             (if (i64.ne (call $load_u64 (i64.add (local.get $a) (i64.const 8))) (i64.const 0x0102030405060708))
               (then (return (i32.const 4))))
             ;; little endian, like the official kernel
             (if (i32.ne (call $load_u8 (i64.add (local.get $a) (i64.const 8))) (i32.const 8)) (then (return (i32.const 5))))
             (call $store_u8 (local.get $a) (i32.const 0x1ff))
             (if (i32.ne (call $load_u8 (local.get $a)) (i32.const 0xff)) (then (return (i32.const 6))))
             (local.set $b (call $alloc (i64.const 50)))
             (if (i64.eq (local.get $a) (local.get $b)) (then (return (i32.const 7))))
             (call $free (local.get $a))
             (if (i64.ne (call $length (local.get $a)) (i64.const 0)) (then (return (i32.const 8))))
             ;; a freed block is not handed out again within a call (the official kernel's rule)
             (if (i64.eq (call $alloc (i64.const 90)) (local.get $a)) (then (return (i32.const 9))))
             (if (i64.ne (call $alloc (i64.const 0)) (i64.const 0)) (then (return (i32.const 10))))
             (if (i64.ne (call $length (i64.const 0)) (i64.const 0)) (then (return (i32.const 11))))
             (if (i64.ne (call $length (i64.const 123456789)) (i64.const 0)) (then (return (i32.const 12))))
             (if (i64.lt_u (call $memory_bytes) (i64.const 150)) (then (return (i32.const 13))))
             (i32.const 0))"#,
    );
    p.call("check", b"").unwrap();
}

#[test]
fn reset_drops_every_block() {
    let mut p = plugin(
        r#"(func (export "check") (result i32)
             (local $a i64)
             (local.set $a (call $alloc (i64.const 64)))
             (call $reset)
             (if (i64.ne (call $length (local.get $a)) (i64.const 0)) (then (return (i32.const 1))))
             (if (i64.ne (call $input_length) (i64.const 0)) (then (return (i32.const 2))))
             (i32.const 0))"#,
    );
    p.call("check", b"some input").unwrap();
}

#[test]
fn output_and_input_set_and_query() {
    let mut p = plugin(
        r#"(data (i32.const 1024) "abcdef")
           (func (export "check") (result i32)
             (local $h i64)
             (local.set $h (call $k (i32.const 1024) (i32.const 6)))
             (call $input_set (local.get $h) (i64.const 6))
             (if (i64.ne (call $input_length) (i64.const 6)) (then (return (i32.const 1))))
             (if (i32.ne (call $input_load_u8 (i64.const 5)) (i32.const 102)) (then (return (i32.const 2))))
             (call $output_set (i64.add (local.get $h) (i64.const 1)) (i64.const 3))
             (if (i64.ne (call $output_length) (i64.const 3)) (then (return (i32.const 3))))
             (if (i64.ne (call $output_offset) (i64.add (local.get $h) (i64.const 1))) (then (return (i32.const 4))))
             (i32.const 0))"#,
    );
    assert_eq!(p.call("check", b"").unwrap(), b"bcd");
}

#[test]
fn error_set_makes_a_plugin_error_with_the_message() {
    let mut p = plugin(
        r#"(func (export "fail") (result i32)
             (local $h i64)
             (local.set $h (call $copy_input))
             (call $error_set (local.get $h))
             (if (i64.ne (call $error_get) (local.get $h)) (then (return (i32.const 2))))
             (i32.const 1))
           (func (export "set_and_clear") (result i32)
             (call $error_set (call $copy_input))
             (call $error_set (i64.const 0))
             (i32.const 0))
           (func (export "code") (result i32) (i32.const 7))
           (func (export "unit"))"#,
    );
    let e = p.call("fail", b"failed: boom").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PluginError);
    assert_eq!(e.message(), "failed: boom");
    p.call("set_and_clear", b"x").unwrap();
    let e = p.call("code", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PluginError);
    assert!(e.message().contains("non-zero exit code 7"), "{e}");
    assert_eq!(p.call("unit", b"ignored").unwrap(), b"");
}

const CONFIG: &str = r#"
  (data (i32.const 1024) "greeting")
  (func (export "greeting") (result i32)
    (local $v i64)
    (local.set $v (call $config_get (call $k (i32.const 1024) (i32.const 8))))
    (if (i64.eqz (local.get $v)) (then (return (i32.const 0))))
    (call $out (local.get $v))
    (i32.const 0))
  ;; the official runtime frees the key: using it again is an error
  (func (export "reuse_key") (result i32)
    (local $key i64)
    (local.set $key (call $k (i32.const 1024) (i32.const 8)))
    (drop (call $config_get (local.get $key)))
    (drop (call $config_get (local.get $key)))
    (i32.const 0))
"#;

#[test]
fn config_get_reads_the_manifest_and_frees_the_key() {
    let engine = engine();
    let mut p = builder(&engine, CONFIG, |m| m.with_config("greeting", "Howdy"))
        .build()
        .unwrap();
    assert_eq!(p.call("greeting", b"").unwrap(), b"Howdy");

    let mut bare = builder(&engine, CONFIG, |m| m).build().unwrap();
    assert_eq!(
        bare.call("greeting", b"").unwrap(),
        b"",
        "a missing key gives handle 0"
    );
    // No value is allocated for a missing key, so the freed key block stays free.
    let e = bare.call("reuse_key", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert!(
        e.message().contains("config_get") && e.message().contains("not a kernel memory handle"),
        "{e}"
    );
}

const VARS: &str = r#"
  (data (i32.const 1024) "key")
  (func (export "remember") (result i32)
    (call $var_set (call $k (i32.const 1024) (i32.const 3)) (call $copy_input)) (i32.const 0))
  (func (export "forget") (result i32)
    (call $var_set (call $k (i32.const 1024) (i32.const 3)) (i64.const 0)) (i32.const 0))
  (func (export "recall") (result i32)
    (local $v i64)
    (local.set $v (call $var_get (call $k (i32.const 1024) (i32.const 3))))
    (if (i64.ne (local.get $v) (i64.const 0)) (then (call $out (local.get $v))))
    (i32.const 0))
  (func (export "boom") (result i32) unreachable)
"#;

#[test]
fn a_fresh_copy_shares_the_module_but_not_the_instance() {
    let engine = engine();
    let mut a = builder(&engine, VARS, |m| m).build().unwrap();
    a.call("remember", b"mine").unwrap();
    let mut copy = a.fresh();
    assert_eq!(
        copy.call("recall", b"").unwrap(),
        b"",
        "a fresh copy starts without vars"
    );
    copy.call("remember", b"theirs").unwrap();
    assert_eq!(
        a.call("recall", b"").unwrap(),
        b"mine",
        "nor does it touch the original's"
    );
    assert_eq!(copy.functions(), ["boom", "forget", "recall", "remember"]);
}

#[test]
fn vars_persist_on_one_instance_and_never_leak() {
    let engine = engine();
    let mut a = builder(&engine, VARS, |m| m).build().unwrap();
    let mut b = builder(&engine, VARS, |m| m).build().unwrap();
    a.call("remember", b"first").unwrap();
    assert_eq!(a.call("recall", b"").unwrap(), b"first");
    assert_eq!(
        a.call("recall", b"").unwrap(),
        b"first",
        "vars outlive calls"
    );
    assert_eq!(
        b.call("recall", b"").unwrap(),
        b"",
        "vars do not leak between plugins"
    );
    a.call("forget", b"").unwrap();
    assert_eq!(a.call("recall", b"").unwrap(), b"");

    a.call("remember", b"again").unwrap();
    assert_eq!(a.call("boom", b"").unwrap_err().kind(), ErrorKind::Trap);
    assert_eq!(
        a.call("recall", b"").unwrap(),
        b"",
        "a trap starts a fresh instance"
    );
}

#[test]
fn vars_are_capped_by_max_var_bytes() {
    let engine = engine();
    let mut p = builder(&engine, VARS, |m| m.with_max_var_bytes(10))
        .build()
        .unwrap();
    p.call("remember", b"1234567").unwrap();
    let e = p.call("remember", b"12345678").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MemoryLimit);
    assert!(e.message().contains("max_var_bytes"), "{e}");

    let mut off = builder(&engine, VARS, |m| m.with_max_var_bytes(0))
        .build()
        .unwrap();
    assert_eq!(
        off.call("remember", b"x").unwrap_err().kind(),
        ErrorKind::MemoryLimit
    );
}

#[test]
fn logs_go_to_the_logger_above_the_level() {
    let body = r#"
      (func (export "log") (result i32)
        (call $log_trace (call $copy_input))
        (call $log_debug (call $copy_input))
        (call $log_info (call $copy_input))
        (call $log_warn (call $copy_input))
        (call $log_error (call $copy_input))
        (i32.const 0))
      (func (export "level") (result i32)
        (local $h i64)
        (local.set $h (call $alloc (i64.const 1)))
        (call $store_u8 (local.get $h) (i32.add (i32.const 48) (call $get_log_level)))
        (call $out (local.get $h))
        (i32.const 0))"#;
    let engine = engine();
    let (logs, sink) = capture();
    let mut p = builder(&engine, body, |m| m)
        .with_log_level(LogLevel::Warn)
        .with_logger(sink)
        .build()
        .unwrap();
    p.call("log", b"msg").unwrap();
    assert_eq!(
        *logs.lock().unwrap(),
        vec![
            (LogLevel::Warn, "msg".to_string()),
            (LogLevel::Error, "msg".to_string())
        ]
    );
    assert_eq!(p.call("level", b"").unwrap(), b"3");

    let (logs, sink) = capture();
    let mut all = builder(&engine, body, |m| m)
        .with_log_level(LogLevel::Trace)
        .with_logger(sink)
        .build()
        .unwrap();
    all.call("log", b"x").unwrap();
    let levels: Vec<LogLevel> = logs.lock().unwrap().iter().map(|(l, _)| *l).collect();
    assert_eq!(
        levels,
        [
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error
        ]
    );
    assert_eq!(all.call("level", b"").unwrap(), b"0");
}

#[test]
fn initialize_runs_once_per_instance() {
    let mut p = plugin(
        r#"(global $inits (mut i32) (i32.const 0))
           (func (export "_initialize") (global.set $inits (i32.add (global.get $inits) (i32.const 1))))
           (func (export "inits") (result i32)
             (local $h i64)
             (local.set $h (call $alloc (i64.const 1)))
             (call $store_u8 (local.get $h) (i32.add (i32.const 48) (global.get $inits)))
             (call $out (local.get $h))
             (i32.const 0))
           (func (export "boom") (result i32) unreachable)"#,
    );
    assert_eq!(p.call("inits", b"").unwrap(), b"1");
    assert_eq!(p.call("inits", b"").unwrap(), b"1");
    p.call("boom", b"").unwrap_err();
    assert_eq!(
        p.call("inits", b"").unwrap(),
        b"1",
        "the fresh instance is initialised once too"
    );
}

#[test]
fn raw_numeric_exports_and_function_exists() {
    let mut p = plugin(
        r#"(func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))"#,
    );
    use polyplug_host::Val;
    let r = p
        .call_raw("add", &[Val::I32(i32::MAX), Val::I32(1)])
        .unwrap();
    assert_eq!(r[0].unwrap_i32(), i32::MIN, "wrapping overflow");
    assert!(p.function_exists("add"));
    assert!(!p.function_exists("sub"));
    let e = p.call_raw("add", &[Val::I64(1)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingExport);
    let e = p.call("add", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingExport);
    assert!(e.message().contains("(i32, i32) -> (i32)"), "{e}");
}

#[test]
fn plugins_move_between_threads_and_engines_are_shared() {
    let engine = engine();
    let body =
        r#"(func (export "echo") (result i32) (call $out (call $copy_input)) (i32.const 0))"#;
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let mut p = builder(&engine, body, |m| m).build().unwrap();
            std::thread::spawn(move || p.call("echo", format!("thread {i}").as_bytes()).unwrap())
        })
        .collect();
    let outputs: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        outputs,
        [
            b"thread 0".to_vec(),
            b"thread 1".to_vec(),
            b"thread 2".to_vec()
        ]
    );
}

#[test]
fn a_pooled_kernel_memory_shows_no_bytes_of_its_last_user() {
    // Kernel memories outlive their store and serve the next one of the engine.
    let engine = engine();
    let build = |body: &str| {
        builder(&engine, body, |m| m.with_timeout_ms(5_000))
            .build()
            .unwrap()
    };
    let secret = vec![0x5a; 4096];
    let mut first = build(
        r#"(func (export "echo") (result i32) (call $out (call $copy_input)) (i32.const 0))"#,
    );
    assert_eq!(first.call("echo", &secret).unwrap(), secret);
    drop(first);
    let mut second = build(
        r#"(func (export "peek") (result i32) (local $h i64)
             (local.set $h (call $alloc (i64.const 8192)))
             (call $output_set (local.get $h) (i64.const 8192)) (i32.const 0))"#,
    );
    let fresh = second.call("peek", b"").unwrap();
    assert_eq!(fresh.len(), 8192);
    let stale = fresh.iter().filter(|&&b| b != 0).count();
    assert_eq!(stale, 0, "a new block shows bytes of the last store");
}

/// Kernel memories are pooled across plugins of one engine, and loads past the
/// arena reach into them (as on the official kernel): a plugin must still never
/// read what another plugin left there.
#[test]
fn a_pooled_kernel_memory_never_shows_another_plugins_bytes() {
    let body = r#"(func (export "leave") (result i32)
             (call $store_u64 (i64.const 200000) (i64.const 0x5ec12e7))
             (call $store_u64 (i64.const 300) (i64.const 0x5ec12e7))
             (i32.const 0))
           (func (export "peek") (result i32)
             (local $h i64)
             (local.set $h (call $alloc (i64.const 16)))
             (call $store_u64 (local.get $h) (call $load_u64 (i64.const 200000)))
             (call $store_u64 (i64.add (local.get $h) (i64.const 8)) (call $load_u64 (i64.const 300)))
             (call $out (local.get $h))
             (i32.const 0))"#;
    let engine = engine();
    for _ in 0..3 {
        let mut a = builder(&engine, body, |m| m).build().unwrap();
        a.call("leave", b"").unwrap();
        assert_eq!(
            a.call("peek", b"").unwrap(),
            [0xe7, 0x12, 0xec, 0x05, 0, 0, 0, 0, 0xe7, 0x12, 0xec, 0x05, 0, 0, 0, 0],
            "its own bytes stay readable within the instance"
        );
        drop(a);
        let mut b = builder(&engine, body, |m| m).build().unwrap();
        assert_eq!(
            b.call("peek", b"").unwrap(),
            [0; 16],
            "the next plugin sees zeros"
        );
    }
}

/// More modules than a kernel memory keeps linked (prepared.rs), in turns on
/// one engine: each fresh instance still runs its own module.
#[test]
fn many_modules_in_turns_each_run_their_own_code() {
    let engine = engine();
    let plugins: Vec<_> = (0..20)
        .map(|i| {
            let body = format!(
                r#"(data (i32.const 2048) "module {i}")
                (func (export "name") (result i32)
                  (call $out (call $k (i32.const 2048) (i32.const {len}))) (i32.const 0))"#,
                len = format!("module {i}").len()
            );
            builder(&engine, &body, |m| m).build().unwrap()
        })
        .collect();
    for _ in 0..2 {
        for (i, p) in plugins.iter().enumerate() {
            assert_eq!(
                p.fresh().call("name", b"").unwrap(),
                format!("module {i}").as_bytes()
            );
        }
    }
}
