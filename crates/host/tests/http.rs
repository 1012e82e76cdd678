//! `http_request` against a real HTTP server on 127.0.0.1, including redirects to
//! hosts that are not allowed.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use common::{builder, engine};
use polyplug_host::{ErrorKind, Manifest};

/// Serves a handful of routes forever on a random port; returns the port.
fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = handle(stream, port);
            });
        }
    });
    port
}

fn handle(mut stream: TcpStream, port: u16) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut length = 0;
    let mut custom = String::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "x-custom" => custom = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let (status, extra, payload): (&str, String, Vec<u8>) = match path.as_str() {
        "/hello" => ("200 OK", "X-Test: yes\r\n".into(), b"hello".to_vec()),
        "/echo" => {
            let mut p = format!("{method} {custom} ").into_bytes();
            p.extend_from_slice(&body);
            ("201 Created", String::new(), p)
        }
        "/missing" => ("404 Not Found", String::new(), b"nope".to_vec()),
        "/big" => ("200 OK", String::new(), vec![b'x'; 5000]),
        "/redirect-ok" => ("302 Found", "Location: /hello\r\n".into(), Vec::new()),
        "/redirect-denied" => (
            "302 Found",
            format!("Location: http://localhost:{port}/hello\r\n"),
            Vec::new(),
        ),
        "/redirect-chain" => (
            "301 Moved Permanently",
            "Location: /redirect-denied\r\n".into(),
            Vec::new(),
        ),
        _ => ("500 Internal Server Error", String::new(), Vec::new()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    )?;
    stream.write_all(&payload)?;
    stream.flush()
}

/// `fetch`: input is the request JSON, config `body` the optional body;
/// output is the 3-digit status followed by the response body.
const FETCH: &str = r#"
  (data (i32.const 1024) "body")
  (func (export "fetch") (result i32)
    (local $res i64) (local $len i64) (local $out i64) (local $i i64) (local $code i32)
    (local.set $res (call $http_request (call $copy_input) (call $config_get (call $k (i32.const 1024) (i32.const 4)))))
    (local.set $code (call $http_status_code))
    (local.set $len (call $length (local.get $res)))
    (local.set $out (call $alloc (i64.add (local.get $len) (i64.const 3))))
    (call $store_u8 (local.get $out) (i32.add (i32.const 48) (i32.div_u (local.get $code) (i32.const 100))))
    (call $store_u8 (i64.add (local.get $out) (i64.const 1))
      (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $code) (i32.const 10)) (i32.const 10))))
    (call $store_u8 (i64.add (local.get $out) (i64.const 2))
      (i32.add (i32.const 48) (i32.rem_u (local.get $code) (i32.const 10))))
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $out) (i64.add (local.get $i) (i64.const 3)))
                      (call $load_u8 (i64.add (local.get $res) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (call $out (local.get $out))
    (i32.const 0))
  (func (export "headers") (result i32)
    (drop (call $http_request (call $copy_input) (i64.const 0)))
    (call $out (call $http_headers))
    (i32.const 0))
"#;

fn fetch(manifest: impl FnOnce(Manifest) -> Manifest) -> polyplug_host::Plugin {
    builder(&engine(), FETCH, |m| manifest(m.with_timeout_ms(10_000)))
        .build()
        .unwrap()
}

fn get(port: u16, path: &str) -> Vec<u8> {
    format!(r#"{{"url":"http://127.0.0.1:{port}{path}"}}"#).into_bytes()
}

#[test]
fn get_returns_status_and_body() {
    let port = server();
    let mut p = fetch(|m| m.with_allowed_host("127.0.0.1"));
    assert_eq!(p.call("fetch", &get(port, "/hello")).unwrap(), b"200hello");
    assert_eq!(
        p.call("fetch", &get(port, "/missing")).unwrap(),
        b"404nope",
        "a 404 is not an error"
    );
}

#[test]
fn method_headers_and_body_are_sent() {
    let port = server();
    let mut p = fetch(|m| {
        m.with_allowed_host("127.0.0.*")
            .with_config("body", "payload")
    });
    let req = format!(
        r#"{{"url":"http://127.0.0.1:{port}/echo","method":"post","headers":{{"X-Custom":"abc"}}}}"#
    );
    assert_eq!(
        p.call("fetch", req.as_bytes()).unwrap(),
        b"201POST abc payload"
    );
}

#[test]
fn response_headers_are_available() {
    let port = server();
    let mut p = fetch(|m| m.with_allowed_host("127.0.0.1"));
    let json = p.call("headers", &get(port, "/hello")).unwrap();
    let headers: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(headers["x-test"], "yes", "{headers}");
}

#[test]
fn hosts_not_allowed_are_denied() {
    let port = server();
    let mut p = fetch(|m| m);
    let e = p.call("fetch", &get(port, "/hello")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpDenied, "{e}");
    assert!(
        e.message().contains("add `127.0.0.1` to allowed_hosts"),
        "{e}"
    );

    let mut other = fetch(|m| m.with_allowed_host("example.com"));
    assert_eq!(
        other
            .call("fetch", &get(port, "/hello"))
            .unwrap_err()
            .kind(),
        ErrorKind::HttpDenied
    );
}

#[test]
fn redirects_are_followed_and_checked() {
    let port = server();
    let mut p = fetch(|m| m.with_allowed_host("127.0.0.1"));
    assert_eq!(
        p.call("fetch", &get(port, "/redirect-ok")).unwrap(),
        b"200hello"
    );

    let e = p.call("fetch", &get(port, "/redirect-denied")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpDenied, "{e}");
    assert!(
        e.message().contains("redirected to") && e.message().contains("localhost"),
        "{e}"
    );

    let e = p.call("fetch", &get(port, "/redirect-chain")).unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::HttpDenied,
        "the second hop is checked too: {e}"
    );

    let mut both = fetch(|m| {
        m.with_allowed_host("127.0.0.1")
            .with_allowed_host("localhost")
    });
    assert_eq!(
        both.call("fetch", &get(port, "/redirect-denied")).unwrap(),
        b"200hello"
    );
}

#[test]
fn responses_over_the_cap_fail() {
    let port = server();
    let mut p = fetch(|m| {
        m.with_allowed_host("127.0.0.1")
            .with_max_http_response_bytes(1000)
    });
    let e = p.call("fetch", &get(port, "/big")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MemoryLimit, "{e}");
    assert!(
        e.message().contains("max_http_response_bytes = 1000"),
        "{e}"
    );
    assert_eq!(p.call("fetch", &get(port, "/hello")).unwrap(), b"200hello");
}

#[test]
fn bad_requests_are_http_errors() {
    let mut p = fetch(|m| m.with_allowed_host("*"));
    let e = p.call("fetch", b"not json").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http);
    // A closed port: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = p.call("fetch", &get(closed, "/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http, "{e}");
}
