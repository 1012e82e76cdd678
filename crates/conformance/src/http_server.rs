//! The real HTTP server the http spec talks to: plain std networking on 127.0.0.1 with
//! a port the OS picks, one thread per connection, stopped when dropped.
//!
//! Routes: `/text` -> 200 with a text body, `/missing` -> 404, `/redirect` -> 302 to
//! `http://localhost:PORT/text` (a host the fixtures do not allow: only 127.0.0.1 is),
//! `/chain/N` -> 302 to `/chain/N-1` on 127.0.0.1, N times, then to `/redirect`'s
//! target (a redirect chain ending on a denied host), `/silent` -> reads the request
//! and never answers, until the client hangs up (or a minute passes).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The body `/text` answers with; fixtures' snapshots show it.
pub const TEXT_BODY: &str = "hello from polyplug";

/// How long `/silent` holds a connection open without answering, at most.
const SILENT_FOR: Duration = Duration::from_secs(60);

impl HttpServer {
    pub fn start() -> std::io::Result<HttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("conformance-http".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let _ = std::thread::Builder::new()
                            .name("conformance-http-conn".into())
                            .spawn(move || serve(stream, port));
                    }
                }
            })?;
        Ok(HttpServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, what `{{http}}` in a fixture becomes.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // accept() blocks: one connection wakes the loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, port: u16) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers; GET requests carry no body.
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let location = format!("http://localhost:{port}/text");
    let hop = path
        .strip_prefix("/chain/")
        .and_then(|n| n.parse::<u32>().ok());
    let (status, extra, body) = match (path, hop) {
        ("/text", _) => ("200 OK", String::new(), TEXT_BODY),
        ("/redirect", _) => ("302 Found", format!("Location: {location}\r\n"), "moved"),
        (_, Some(0)) => ("302 Found", format!("Location: {location}\r\n"), "moved"),
        (_, Some(n)) => (
            "302 Found",
            format!("Location: http://127.0.0.1:{port}/chain/{}\r\n", n - 1),
            "moved",
        ),
        ("/silent", _) => {
            // The client's timeout is what ends this: wait for it to hang up.
            let _ = stream.set_read_timeout(Some(SILENT_FOR));
            let _ = reader.read(&mut [0; 1]);
            return;
        }
        _ => ("404 Not Found", String::new(), "not found"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(port: u16, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn routes_answer() {
        let server = HttpServer::start().unwrap();
        assert!(get(server.port(), "/text").ends_with(TEXT_BODY));
        assert!(get(server.port(), "/missing").starts_with("HTTP/1.1 404"));
        let r = get(server.port(), "/redirect");
        assert!(
            r.contains(&format!(
                "Location: http://localhost:{}/text",
                server.port()
            )),
            "{r}"
        );
        let r = get(server.port(), "/chain/2");
        assert!(
            r.contains(&format!(
                "Location: http://127.0.0.1:{}/chain/1",
                server.port()
            )),
            "{r}"
        );
        assert!(get(server.port(), "/chain/0").contains("Location: http://localhost:"));
    }

    #[test]
    fn silent_never_answers() {
        let server = HttpServer::start().unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        write!(s, "GET /silent HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let err = s.read(&mut [0; 1]).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{err}"
        );
    }
}
