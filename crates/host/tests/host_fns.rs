//! User host functions: typed API, kernel memory access, per-plugin user data,
//! and errors that keep their kind across the trap.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;

use common::{builder, engine};
use polyplug_host::{Error, ErrorKind, HostFunction, ValType};

const KV: &str = r#"
  (import "extism:host/user" "kv_write" (func $kv_write (param i64 i64)))
  (import "extism:host/user" "kv_read" (func $kv_read (param i64) (result i64)))
  (import "custom" "deny" (func $deny))
  (data (i32.const 1024) "key")
  (func (export "remember") (result i32)
    (call $kv_write (call $k (i32.const 1024) (i32.const 3)) (call $copy_input)) (i32.const 0))
  (func (export "recall") (result i32)
    (call $out (call $kv_read (call $k (i32.const 1024) (i32.const 3)))) (i32.const 0))
  (func (export "deny") (result i32) (call $deny) (i32.const 0))
"#;

type Store = Mutex<HashMap<String, Vec<u8>>>;

fn kv_functions() -> Vec<HostFunction> {
    let write = HostFunction::new(
        "kv_write",
        [ValType::I64, ValType::I64],
        [],
        |plugin, params, _| {
            let key = plugin
                .memory_str(params[0].unwrap_i64() as u64)?
                .to_string();
            let value = plugin.memory_bytes(params[1].unwrap_i64() as u64)?.to_vec();
            let store: &Store = plugin
                .user_data()
                .ok_or_else(|| anyhow::anyhow!("no store"))?;
            store.lock().unwrap().insert(key, value);
            Ok(())
        },
    );
    let read = HostFunction::new(
        "kv_read",
        [ValType::I64],
        [ValType::I64],
        |plugin, params, results| {
            let key = plugin
                .memory_str(params[0].unwrap_i64() as u64)?
                .to_string();
            let store: &Store = plugin
                .user_data()
                .ok_or_else(|| anyhow::anyhow!("no store"))?;
            let value = store
                .lock()
                .unwrap()
                .get(&key)
                .cloned()
                .unwrap_or_else(|| b"<missing>".to_vec());
            results[0] = polyplug_host::Val::I64(plugin.memory_new(&value)? as i64);
            Ok(())
        },
    );
    let deny = HostFunction::new("deny", [], [], |_, _, _| {
        Err(
            anyhow::Error::new(Error::new(ErrorKind::HttpDenied, "not today"))
                .context("while denying"),
        )
    })
    .with_namespace("custom");
    vec![write, read, deny]
}

fn kv_plugin(engine: &polyplug_host::Engine) -> polyplug_host::Plugin {
    let mut b = builder(engine, KV, |m| m).with_user_data(Store::default());
    for f in kv_functions() {
        b = b.with_host_function(f);
    }
    b.build().unwrap()
}

#[test]
fn host_functions_exchange_handles_and_use_user_data() {
    let engine = engine();
    let mut p = kv_plugin(&engine);
    assert_eq!(p.call("recall", b"").unwrap(), b"<missing>");
    p.call("remember", b"value \0 bytes").unwrap();
    assert_eq!(p.call("recall", b"").unwrap(), b"value \0 bytes");

    let mut other = kv_plugin(&engine);
    assert_eq!(
        other.call("recall", b"").unwrap(),
        b"<missing>",
        "user data is per plugin"
    );
}

#[test]
fn a_typed_error_keeps_its_kind() {
    let mut p = kv_plugin(&engine());
    let e = p.call("deny", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpDenied, "{e}");
    assert_eq!(e.message(), "not today");
}

#[test]
fn a_plain_error_is_a_trap_naming_the_function() {
    let engine = engine();
    let mut p = builder(&engine, KV, |m| m);
    for f in kv_functions() {
        p = p.with_host_function(f);
    }
    let mut p = p.build().unwrap();
    let e = p.call("recall", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert!(
        e.message().contains("extism:host/user.kv_read") && e.message().contains("no store"),
        "{e}"
    );
}

#[test]
fn bad_handles_from_the_guest_are_errors_not_panics() {
    let f = HostFunction::new("kv_read", [ValType::I64], [ValType::I64], |plugin, _, _| {
        plugin.memory_bytes(987_654)?;
        Ok(())
    });
    let write = HostFunction::new("kv_write", [ValType::I64, ValType::I64], [], |_, _, _| {
        Ok(())
    });
    let deny = HostFunction::new("deny", [], [], |_, _, _| Ok(())).with_namespace("custom");
    let engine = engine();
    let mut p = builder(&engine, KV, |m| m)
        .with_host_function(f)
        .with_host_function(write)
        .with_host_function(deny)
        .build()
        .unwrap();
    let e = p.call("recall", b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Trap);
    assert!(e.message().contains("987654"), "{e}");
}

/// A fresh instance reuses the module linked against its pooled kernel memory
/// (prepared.rs): two plugins of the same module with different host functions,
/// taking turns on one engine, must each reach their own.
#[test]
fn plugins_of_one_module_keep_their_own_host_functions_across_fresh_instances() {
    let engine = engine();
    let with_deny = |deny: HostFunction| {
        let mut b = builder(&engine, KV, |m| m).with_user_data(Store::default());
        // kv_write and kv_read; `deny` is the one that differs.
        for f in kv_functions().into_iter().take(2) {
            b = b.with_host_function(f);
        }
        b.with_host_function(deny).build().unwrap()
    };
    let denies = with_deny(kv_functions().pop().unwrap());
    let allows =
        with_deny(HostFunction::new("deny", [], [], |_, _, _| Ok(())).with_namespace("custom"));
    for round in 0..3 {
        let e = denies.fresh().call("deny", b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::HttpDenied, "round {round}: {e}");
        allows.fresh().call("deny", b"").unwrap();
    }
}
