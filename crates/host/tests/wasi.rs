//! WASI preview 1: `allowed_paths` preopens, reads inside them, refusals outside.

mod common;

use common::{builder, engine, source};
use polyplug_host::{ErrorKind, Manifest, Plugin, Wasm};

/// `read_file`: opens the input path relative to the first preopen (fd 3) and
/// outputs the file's first 60 000 bytes; a WASI errno becomes a plugin error.
const READ: &str = r#"
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (data (i32.const 1024) "cannot open the file")
  (func (export "read_file") (result i32)
    (local $len i32) (local $i i32)
    (local.set $len (i32.wrap_i64 (call $input_length)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (i32.const 2048) (local.get $i)) (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 2048) (local.get $len)
                         (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 512))
      (then (call $error_set (call $k (i32.const 1024) (i32.const 20))) (return (i32.const 1))))
    ;; one iovec at 520: buffer 4096, 60000 bytes
    (i32.store (i32.const 520) (i32.const 4096))
    (i32.store (i32.const 524) (i32.const 60000))
    (drop (call $fd_read (i32.load (i32.const 512)) (i32.const 520) (i32.const 1) (i32.const 528)))
    (call $out (call $k (i32.const 4096) (i32.load (i32.const 528))))
    (i32.const 0))
  (func (export "exit0") (result i32) (call $proc_exit (i32.const 0)) (i32.const 1))
  (func (export "exit3") (result i32) (call $proc_exit (i32.const 3)) (i32.const 0))
"#;

#[test]
fn reads_inside_the_mapping_and_refuses_outside() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("hello.txt"), b"hi from disk\0").unwrap();
    std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();

    let engine = engine();
    let mut p = builder(&engine, READ, |m| m.with_allowed_path(&data, "/data"))
        .with_wasi(true)
        .build()
        .unwrap();
    assert_eq!(
        p.call("read_file", b"hello.txt").unwrap(),
        b"hi from disk\0"
    );
    for outside in ["../secret.txt", "/etc/passwd", "missing.txt"] {
        let e = p.call("read_file", outside.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PluginError, "{outside}: {e}");
        assert_eq!(e.message(), "cannot open the file");
    }
}

#[test]
fn proc_exit_zero_is_success_and_non_zero_an_error() {
    let engine = engine();
    let mut p = builder(&engine, READ, |m| m)
        .with_wasi(true)
        .build()
        .unwrap();
    assert_eq!(p.call("exit0", b"").unwrap(), b"");
    let e = p.call("exit3", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exit);
    assert!(e.message().contains("proc_exit(3)"), "{e}");
}

#[test]
fn wasi_imports_need_wasi_on() {
    let wasm = wat::parse_str(source(READ)).unwrap();
    let e = Plugin::builder(&engine(), Manifest::new(Wasm::data(wasm)))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownImport);
    assert!(e.message().contains("wasi_snapshot_preview1"), "{e}");
}
