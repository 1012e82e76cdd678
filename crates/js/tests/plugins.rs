//! Every plugin in plugins-js, built with polyplug-js and run on polyplug-host
//! (real wasmtime), checked against the behaviour in docs/specs.md.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use polyplug_host::{ErrorKind, HostFunction, LogLevel, Manifest, Plugin, ValType, Wasm};

fn plugin(spec: &str, manifest: impl FnOnce(Manifest) -> Manifest) -> Plugin {
    let manifest =
        manifest(Manifest::new(Wasm::data(common::build_spec(spec))).with_timeout_ms(10_000));
    Plugin::builder(common::host(), manifest)
        .with_wasi(true)
        .build()
        .expect("plugin instantiates")
}

fn call(p: &mut Plugin, export: &str, input: &[u8]) -> String {
    let out = p
        .call(export, input)
        .unwrap_or_else(|e| panic!("{export}: {e}"));
    String::from_utf8(out).expect("utf-8 output")
}

fn call_err(p: &mut Plugin, export: &str, input: &[u8]) -> polyplug_host::Error {
    match p.call(export, input) {
        Ok(out) => panic!(
            "{export} should fail, gave {:?}",
            String::from_utf8_lossy(&out)
        ),
        Err(e) => e,
    }
}

#[test]
fn hello() {
    let mut p = plugin("hello", |m| m);
    assert_eq!(call(&mut p, "greet", b"Alice"), "Hello, Alice!");
    assert_eq!(call(&mut p, "greet", b""), "Hello, World!");
    let mut p = plugin("hello", |m| m.with_config("greeting", "Grüß dich"));
    assert_eq!(
        call(&mut p, "greet", "Zoë 🌍 東京".as_bytes()),
        "Grüß dich, Zoë 🌍 東京!"
    );
    for internal in [
        "__invoke_i32",
        "__arg_start",
        "wizer-initialize",
        "_initialize",
    ] {
        assert!(
            !p.function_exists(internal),
            "{internal} must not be exported"
        );
    }
}

#[test]
fn count_vowels() {
    let mut p = plugin("count-vowels", |m| m);
    for total in [3, 6, 9] {
        assert_eq!(
            call(&mut p, "count_vowels", b"Hello, World!"),
            format!(r#"{{"count":3,"total":{total},"vowels":"aeiouAEIOU"}}"#)
        );
    }
    let mut p = plugin("count-vowels", |m| m.with_config("vowels", "äöüÄÖÜ"));
    assert_eq!(
        call(
            &mut p,
            "count_vowels",
            "Grüße aus Köln, Ärger über Öl".as_bytes()
        ),
        r#"{"count":5,"total":5,"vowels":"äöüÄÖÜ"}"#
    );
}

#[test]
fn json() {
    let mut p = plugin("json", |m| m);
    assert_eq!(
        call(&mut p, "summarize", br#"{"name":"ada","scores":[3,4.5,1]}"#),
        r#"{"name":"ADA","count":3,"sum":8.5,"min":1,"max":4.5,"mean":2.8333333333333335}"#
    );
    assert_eq!(
        call(&mut p, "summarize", br#"{"name":"nobody","scores":[]}"#),
        r#"{"name":"NOBODY","count":0,"sum":0,"min":null,"max":null,"mean":null}"#
    );
    for bad in [&b"this is not json"[..], br#"{"name":5,"scores":"many"}"#] {
        let e = call_err(&mut p, "summarize", bad);
        assert_eq!(e.kind(), ErrorKind::PluginError, "{e}");
        assert!(e.message().starts_with("invalid input"), "{}", e.message());
    }
}

#[test]
fn bytes() {
    let mut p = plugin("bytes", |m| m);
    let odd = [0xff, 0xfe, 0x41, 0xc3, 0x28, 0xe2, 0x82];
    assert_eq!(p.call("echo", &odd).unwrap(), odd);
    assert_eq!(
        p.call("reverse", &[0, 0x61, 0, 0x62, 0x63]).unwrap(),
        [0x63, 0x62, 0, 0x61, 0]
    );
    assert_eq!(call(&mut p, "length", &odd), "7");
    assert_eq!(p.call("echo", b"").unwrap(), b"");
    assert_eq!(call(&mut p, "length", b""), "0");
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    assert!(p.call("echo", &big).unwrap() == big, "4 MiB echo differs");
    let mut rev = big.clone();
    rev.reverse();
    assert!(
        p.call("reverse", &big).unwrap() == rev,
        "4 MiB reverse differs"
    );
    assert_eq!(call(&mut p, "length", &big), (4 << 20).to_string());
}

#[test]
fn errors() {
    let mut p = plugin("errors", |m| m);
    for input in ["boom", "", "one", "two"] {
        let e = call_err(&mut p, "fail", input.as_bytes());
        assert_eq!(e.kind(), ErrorKind::PluginError, "{e}");
        assert_eq!(e.message(), format!("failed: {input}"));
    }
    let e = call_err(&mut p, "panic", b"oops");
    assert_eq!(e.kind(), ErrorKind::PluginError, "{e}");
    // A thrown Error carries its JS stack after the message.
    assert!(e.message().starts_with("panic: oops\n"), "{}", e.message());
    assert!(
        e.message().contains("at panic (index.js:"),
        "{}",
        e.message()
    );
    let e = call_err(&mut p, "fail", b"after");
    assert_eq!(e.message(), "failed: after");
}

fn kv_plugin(store: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>) -> Plugin {
    let manifest = Manifest::new(Wasm::data(common::build_spec("host-fns")));
    let write_store = store.clone();
    let write = HostFunction::new(
        "kv_write",
        [ValType::I64, ValType::I64],
        [],
        move |cp, args, _| {
            let key = cp.memory_bytes(args[0].unwrap_i64() as u64)?.to_vec();
            let value = cp.memory_bytes(args[1].unwrap_i64() as u64)?.to_vec();
            write_store.lock().unwrap().insert(key, value);
            Ok(())
        },
    );
    let read = HostFunction::new(
        "kv_read",
        [ValType::I64],
        [ValType::I64],
        move |cp, args, results| {
            let key = cp.memory_bytes(args[0].unwrap_i64() as u64)?.to_vec();
            let value = store.lock().unwrap().get(&key).cloned().unwrap_or_default();
            results[0] = polyplug_host::Val::I64(cp.memory_new(&value)? as i64);
            Ok(())
        },
    );
    Plugin::builder(common::host(), manifest)
        .with_wasi(true)
        .with_host_function(write)
        .with_host_function(read)
        .build()
        .expect("host-fns instantiates")
}

#[test]
fn host_functions() {
    let store = Arc::new(Mutex::new(HashMap::new()));
    store
        .lock()
        .unwrap()
        .insert(b"greeting".to_vec(), b"hi there".to_vec());
    let mut p = kv_plugin(store.clone());
    assert_eq!(call(&mut p, "recall", b"greeting"), "hi there");
    assert_eq!(call(&mut p, "recall", b"nothing-here"), "<missing>");
    assert_eq!(call(&mut p, "remember", b"eq=a=b"), "ok");
    assert_eq!(
        store.lock().unwrap().get(&b"eq"[..]).map(Vec::as_slice),
        Some(&b"a=b"[..])
    );
    assert_eq!(call(&mut p, "recall", b"eq"), "a=b");
    let e = call_err(&mut p, "remember", b"no equals sign");
    assert_eq!(e.kind(), ErrorKind::PluginError, "{e}");
    assert!(e.message().starts_with("invalid input"), "{}", e.message());
}

/// A tiny HTTP/1.1 server on 127.0.0.1: `/text` answers 200, `/redirect`
/// sends the client to `localhost`, anything else is 404.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let (status, extra, body) = match path.as_str() {
                "/text" => ("200 OK", String::new(), "hello over http"),
                "/redirect" => (
                    "302 Found",
                    format!("Location: http://localhost:{port}/text\r\n"),
                    "",
                ),
                _ => ("404 Not Found", String::new(), "not found"),
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn http() {
    let port = serve();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let mut p = plugin("http", |m| m.with_allowed_host("127.0.0.1"));
    assert_eq!(
        call(&mut p, "fetch", url("/text").as_bytes()),
        "200 hello over http"
    );
    assert_eq!(
        call(&mut p, "fetch", url("/missing").as_bytes()),
        "404 not found"
    );
    let e = call_err(&mut p, "fetch", url("/redirect").as_bytes());
    assert_eq!(e.kind(), ErrorKind::HttpDenied, "{e}");
    let mut p = plugin("http", |m| m);
    let e = call_err(&mut p, "fetch", url("/text").as_bytes());
    assert_eq!(e.kind(), ErrorKind::HttpDenied, "{e}");
}

#[test]
fn log() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let manifest = Manifest::new(Wasm::data(common::build_spec("log")));
    let mut p = Plugin::builder(common::host(), manifest)
        .with_wasi(true)
        .with_log_level(LogLevel::Trace)
        .with_logger(move |level, msg| sink.lock().unwrap().push(format!("{level} {msg}")))
        .build()
        .unwrap();
    assert_eq!(call(&mut p, "log", "héllo 🌍".as_bytes()), "done");
    let got = lines.lock().unwrap().clone();
    let want: Vec<String> = ["trace", "debug", "info", "warn", "error"]
        .iter()
        .map(|l| format!("{l} {l}: héllo 🌍"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn limits() {
    let mut p = plugin("limits", |m| {
        m.with_timeout_ms(200).with_memory_max_pages(512)
    });
    let e = call_err(&mut p, "spin", b"");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let e = call_err(&mut p, "grow", b"");
    assert_eq!(e.kind(), ErrorKind::MemoryLimit, "{e}");
    let e = call_err(&mut p, "spin", b"");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let mut p = plugin("limits", |m| m.with_memory_max_pages(512));
    let e = call_err(&mut p, "recurse", b"");
    assert!(
        matches!(
            e.kind(),
            ErrorKind::StackOverflow | ErrorKind::MemoryLimit | ErrorKind::Trap
        ),
        "recurse should trap, got {:?}: {e}",
        e.kind()
    );
}

#[test]
fn raw_add() {
    use polyplug_host::Val;
    let mut p = plugin("raw-add", |m| m);
    let (params, results) = p.function_type("add").expect("add is exported");
    let i32s = |ts: &[ValType], n| ts.len() == n && ts.iter().all(|t| matches!(t, ValType::I32));
    assert!(
        i32s(&params, 2) && i32s(&results, 1),
        "add is {params:?} -> {results:?}"
    );
    for (a, b, sum) in [
        (1, 2, 3),
        (-5, 3, -2),
        (i32::MAX, 1, i32::MIN),
        (i32::MIN, -1, i32::MAX),
    ] {
        let out = p.call_raw("add", &[Val::I32(a), Val::I32(b)]).expect("add");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].unwrap_i32(), sum, "add({a}, {b})");
    }
}

#[test]
fn math_random_differs_between_instances() {
    // The snapshot is taken with fixed randomness; each instance must reseed.
    let tmp = common::plugin_dir(
        "random",
        "function roll() { Host.outputString(String(Math.random())); }\nmodule.exports = { roll };\n",
        "declare module \"main\" { export function roll(): I32; }\n",
    );
    let dir = tmp.path();
    let wasm = polyplug_js::build(dir, common::engine()).expect("builds");
    let roll = || {
        let manifest = Manifest::new(Wasm::data(wasm.clone()));
        let mut p = Plugin::builder(common::host(), manifest)
            .with_wasi(true)
            .build()
            .unwrap();
        let first: f64 = call(&mut p, "roll", b"").parse().expect("a number");
        let second: f64 = call(&mut p, "roll", b"").parse().expect("a number");
        assert!(
            (0.0..1.0).contains(&first) && first != second,
            "{first} then {second}"
        );
        first
    };
    assert_ne!(
        roll(),
        roll(),
        "two instances replayed one Math.random sequence"
    );
}
