//! A server under test: started on a free port with its output in a log file,
//! waited for on /healthz, measured (VmRSS), and killed when dropped, so no
//! exit path of `bench-serve` leaves one running. Also the little HTTP/1.1
//! client the health checks, the smoke calls and the RSS load need, so xtask
//! takes no HTTP dependency.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::prepare::Scratch;

pub struct Server {
    pub label: String,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `program args...` (which tell it to listen on `addr`), its
    /// stdout and stderr in the scratch folder.
    pub fn start(
        label: &str,
        program: &Path,
        args: Vec<OsString>,
        addr: SocketAddr,
        scratch: &Scratch,
    ) -> Result<Server> {
        let log = scratch.log(label);
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot start {label}: {}", program.display()))?;
        Ok(Server {
            label: label.to_string(),
            addr,
            child,
            log,
        })
    }

    /// Waits until GET /healthz answers 200.
    pub fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            self.check_alive()?;
            let answer = Conn::open(self.addr).and_then(|mut c| c.request("GET", "/healthz", b""));
            if let Ok((200, _)) = answer {
                return Ok(());
            }
            if started.elapsed() > timeout {
                let last = match answer {
                    Ok((status, body)) => format!("it answered {status} {}", lossy(&body)),
                    Err(e) => format!("{e:#}"),
                };
                bail!(
                    "{} did not answer GET /healthz with 200 on {} within {} s ({last}){}",
                    self.label,
                    self.addr,
                    timeout.as_secs(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An error if the server has exited, with the end of its log.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited ({status}){}", self.label, self.log_tail());
        }
        Ok(())
    }

    /// Resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in {path}"))
    }

    /// `POST path` with `body`; the status and the response body.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        Conn::open(self.addr)?
            .request("POST", path, body)
            .with_context(|| format!("{}: POST {path}", self.label))
    }

    /// `total` POSTs of `body` over `connections` kept-alive connections; the
    /// first non-200 answer is an error.
    pub fn load(&self, path: &str, body: &[u8], total: u64, connections: u64) -> Result<()> {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..connections)
                .map(|i| {
                    let share = total / connections + u64::from(i < total % connections);
                    scope.spawn(move || -> Result<()> {
                        let mut conn = Conn::open(self.addr)?;
                        for _ in 0..share {
                            match conn.request("POST", path, body)? {
                                (200, _) => {}
                                (status, body) => {
                                    bail!("POST {path} answered {status}: {}", lossy(&body))
                                }
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for worker in workers {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a load thread panicked"))?
                    .with_context(|| format!("{}: load", self.label))?;
            }
            Ok(())
        })
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.trim().is_empty() {
            "; it printed nothing".to_string()
        } else {
            format!("\n--- the end of its output ---\n{tail}")
        }
    }
}

/// Distinct ports on 127.0.0.1 that were free a moment ago (all held until
/// all are chosen, so none is handed out twice).
pub fn free_addrs<const N: usize>() -> Result<[SocketAddr; N]> {
    let held = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("cannot bind a port on 127.0.0.1"))
        .collect::<Result<Vec<_>>>()?;
    let addrs = held
        .iter()
        .map(|l| l.local_addr())
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(addrs.try_into().expect("N listeners"))
}

pub fn lossy(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]);
    text.trim().to_string()
}

/// One kept-alive HTTP/1.1 connection: requests with a Content-Length,
/// responses with a Content-Length, chunked, or up to the close.
struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            addr,
            reader: BufReader::new(stream),
        })
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;

        let status_line = self.line()?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .with_context(|| format!("not an HTTP status line: {status_line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            let line = self.line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = self.line()?;
                let size = size.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .with_context(|| format!("bad chunk size {size:?}"))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                self.line()?;
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
        } else {
            self.reader.read_to_end(&mut body)?;
        }
        Ok((status, body))
    }

    /// One header line without its CRLF; end of stream is an error.
    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("the server closed the connection");
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
