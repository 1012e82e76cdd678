//! `polyplug serve` over real HTTP: the binary started on a free port of
//! 127.0.0.1, serving tests/serve/plugins.wat (one export per behaviour).

mod artifacts;
#[path = "../common/mod.rs"]
mod common;
mod server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use server::{module, Server};

#[test]
fn answers_each_outcome_with_its_status_and_category() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap(), "--timeout", "300"]);

    let ok = server.post("demo/echo", b"hello");
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello"));
    assert!(ok.header("x-request-id").is_some());

    let cases = [
        ("demo/fail", 422, "plugin-error"),
        ("demo/spin", 504, "timeout"),
        ("demo/big_output", 507, "memory-limit"),
        ("demo/trap", 500, "trap"),
        ("demo/nope", 404, "unknown-export"),
        ("nope/echo", 404, "unknown-plugin"),
    ];
    for (path, status, category) in cases {
        let r = server.post(path, b"x");
        assert_eq!(r.status, status, "{path}: {}", r.text());
        let body = r.json();
        assert_eq!(body["error"], category, "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let fail = server.post("demo/fail", b"x").json();
    assert_eq!(fail["message"], "the plugin says no");
    let limit = server.post("demo/big_output", b"x").json();
    assert_eq!(limit["limit"]["memory_max_pages"], 1024, "{limit}");
    let timeout = server.post("demo/spin", b"x").json();
    assert_eq!(timeout["limit"]["timeout_ms"], 300, "{timeout}");
    let missing = server.post("demo/nope", b"x").json();
    assert!(
        missing["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "echo"),
        "{missing}"
    );
    let unknown = server.post("nope/echo", b"x").json();
    assert_eq!(unknown["plugins"], serde_json::json!(["demo"]));

    // The host is still fine after every kind of failure.
    assert_eq!(server.post("demo/echo", b"again").text(), "again");
}

#[test]
fn refuses_large_bodies_and_queues_beyond_capacity() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[
        dir.path().to_str().unwrap(),
        "--max-body",
        "1000",
        "--concurrency",
        "1",
        "--queue",
        "0",
        "--timeout",
        "1500",
    ]);
    let large = server.post("demo/echo", &[b'a'; 1001]);
    assert_eq!(large.status, 413);
    assert_eq!(large.json()["error"], "body-too-large");
    assert_eq!(server.post("demo/echo", &[b'a'; 1000]).status, 200);

    let spinning = server.spawn_post("demo/spin", b"");
    std::thread::sleep(Duration::from_millis(300));
    let busy = server.post("demo/echo", b"x");
    assert_eq!(busy.status, 503, "{}", busy.text());
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"));
    assert_eq!(spinning.join().unwrap().status, 504);
    assert_eq!(server.post("demo/echo", b"free").text(), "free");
}

#[test]
fn a_looping_plugin_holds_one_worker_while_others_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[
        dir.path().to_str().unwrap(),
        "--timeout",
        "4000",
        "--concurrency",
        "2",
    ]);
    let started = Instant::now();
    let spinning = server.spawn_post("demo/spin", b"");
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..50 {
        let input = format!("request {i}");
        assert_eq!(server.post("demo/echo", input.as_bytes()).text(), input);
    }
    assert!(
        !spinning.is_finished(),
        "the looping call ended after {:?}, before the other requests were answered",
        started.elapsed()
    );
    assert_eq!(spinning.join().unwrap().status, 504);
}

#[test]
fn concurrent_requests_never_share_state() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap()]);
    let clients: Vec<_> = (0..32)
        .map(|c| {
            let server = server.client();
            std::thread::spawn(move || {
                for i in 0..32 {
                    // Vars and guest memory start afresh: "00" every time.
                    let visit = server.post("demo/visit", b"");
                    assert_eq!((visit.status, visit.text().as_str()), (200, "00"));
                    let input = format!("client {c} request {i} {}", "x".repeat(c * 97 + i));
                    let echo = server.post("demo/echo", input.as_bytes());
                    assert_eq!(echo.text(), input);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains(r#"polyplug_calls_total{plugin="demo",export="visit",outcome="ok"} 1024"#),
        "{metrics}"
    );
    assert!(metrics
        .contains(r#"polyplug_call_duration_seconds_count{plugin="demo",export="echo"} 1024"#));
    assert!(metrics.contains("polyplug_instances_in_use 0"), "{metrics}");
}

#[test]
fn lists_plugins_with_metrics_health_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap()]);
    assert_eq!(server.get("/healthz").status, 200);

    let list = server.get("/v1/plugins").json();
    let demo = &list["plugins"][0];
    assert_eq!(demo["name"], "demo");
    assert_eq!(demo["sha256"], server::sha256(&wasm));
    assert!(
        demo["source"].as_str().unwrap().ends_with("demo.wasm"),
        "{demo}"
    );
    let exports: Vec<&str> = demo["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        exports,
        [
            "big_output",
            "echo",
            "fail",
            "log",
            "spin",
            "trap",
            "visit",
            "work"
        ]
    );

    let logged = server.post("demo/log", b"");
    assert_eq!(logged.status, 200);
    let id = logged.header("x-request-id").unwrap();
    server.wait_for_log(&format!("[request {id}] demo: info: hello from the plugin"));

    server.post("demo/fail", b"");
    let metrics = server.get("/metrics");
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text();
    for line in [
        r#"polyplug_calls_total{plugin="demo",export="fail",outcome="plugin-error"} 1"#,
        r#"polyplug_calls_total{plugin="demo",export="log",outcome="ok"} 1"#,
        r#"polyplug_call_duration_seconds_bucket{plugin="demo",export="log",le="+Inf"} 1"#,
        "# TYPE polyplug_instances_in_use gauge",
        "polyplug_plugins 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    let page = server.get("/").text();
    assert!(page.contains("<form id=\"call\">"), "{page}");
}

#[test]
fn malformed_requests_get_an_answer_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap()]);
    assert_eq!(server.post("demo", b"").status, 404);
    let odd = server.post("%ZZ/echo", b"").status;
    assert!(odd == 400 || odd == 404, "{odd}");
    assert_eq!(server.get("/v1/plugins/demo/echo").status, 405);
    assert_eq!(server.get("/no/such/route").status, 404);

    // A client that promises 1000 bytes, sends 10 and hangs up.
    let mut raw = TcpStream::connect(&server.addr).unwrap();
    raw.write_all(
        b"POST /v1/plugins/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789",
    )
    .unwrap();
    drop(raw);
    // Garbage instead of HTTP: an answer or a clean close.
    let mut raw = TcpStream::connect(&server.addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"\x00\x01 not http\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = raw.read_to_end(&mut answer);
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    assert_eq!(server.post("demo/echo", b"still up").text(), "still up");
}

#[test]
fn reloads_a_changed_module_and_finishes_requests_on_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap()]);
    assert_eq!(server.post("demo/work", b"").text(), "module1");

    let in_flight = server.spawn_post("demo/work", b"");
    std::thread::sleep(Duration::from_millis(50));
    module(dir.path(), "demo", "module2");
    server.wait_until("the new module serves", || {
        server.post("demo/work", b"").text() == "module2"
    });
    assert_eq!(in_flight.join().unwrap().text(), "module1");
    server.wait_for_log("reloaded demo");

    // A module that does not load keeps the last good one serving, and says why.
    server::replace(&dir.path().join("demo.wasm"), b"not wasm at all");
    server.wait_for_log("demo: keeps serving the previous module");
    assert_eq!(server.post("demo/work", b"").text(), "module2");
    // A new file in a served folder is picked up.
    module(dir.path(), "second", "module3");
    server.wait_until("the new file serves", || {
        server.post("second/work", b"").text() == "module3"
    });
}

#[test]
fn sigterm_drains_requests_in_flight_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let mut server = Server::start(&[dir.path().to_str().unwrap()]);
    let in_flight = server.spawn_post("demo/work", b"");
    std::thread::sleep(Duration::from_millis(100));
    server.signal("TERM");
    let answered = in_flight.join().unwrap();
    assert_eq!(
        (answered.status, answered.text().as_str()),
        (200, "module1")
    );
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(server
        .log()
        .contains("stopping: draining requests in flight"));
}

#[test]
fn bad_start_input_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.wasm"), b"hello").unwrap();
    let (code, err) = server::run_to_end(&[dir.path().join("junk.wasm").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("junk.wasm") && err.contains("not a wasm module"),
        "{err}"
    );

    let good = tempfile::tempdir().unwrap();
    module(good.path(), "demo", "module1");
    let manifest = good.path().join("demo.json");
    std::fs::write(&manifest, r#"{"config": {}, "timeout": 5}"#).unwrap();
    let flag = format!("demo={}", manifest.display());
    let (code, err) = server::run_to_end(&[good.path().to_str().unwrap(), "--manifest", &flag]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("demo.json") && err.contains("unknown field `timeout`"),
        "{err}"
    );

    let (code, err) =
        server::run_to_end(&[good.path().to_str().unwrap(), "--manifest", "other=x.json"]);
    assert_eq!(code, Some(2), "{err}");

    let (code, err) = server::run_to_end(&[dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = server::run_to_end(&[good.path().to_str().unwrap(), "--listen", &addr]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn a_manifest_sets_config_and_limits_for_one_plugin() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let manifest = dir.path().join("demo.json");
    std::fs::write(
        &manifest,
        r#"{"timeout_ms": 150, "memory": {"max_pages": 4}}"#,
    )
    .unwrap();
    let flag = format!("demo={}", manifest.display());
    let server = Server::start(&[dir.path().to_str().unwrap(), "--manifest", &flag]);
    let timeout = server.post("demo/spin", b"").json();
    assert_eq!(timeout["limit"]["timeout_ms"], 150, "{timeout}");
    let echo = server.post("demo/echo", &[b'a'; 300_000]);
    assert_eq!(echo.status, 507, "{}", echo.text());
    assert_eq!(echo.json()["limit"]["memory_max_pages"], 4);
}

#[test]
fn the_page_calls_a_plugin_in_chromium() {
    let Some(chromium) = server::chromium() else {
        eprintln!(
            "skipped: no chromium on PATH (apt-get install -y chromium); .ci/run installs it"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "demo", "module1");
    let server = Server::start(&[dir.path().to_str().unwrap()]);
    let url = format!(
        "http://{}/?plugin=demo&export=echo&input=hi%20from%20the%20page&run=1",
        server.addr
    );
    let dom = server::dump_dom(&chromium, &url);
    assert!(
        dom.contains(r#"<pre id="result">hi from the page</pre>"#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<span id="status" class="">200 ok</span>"#),
        "{dom}"
    );
    assert!(dom.contains("<td>demo</td>"), "{dom}");
}
