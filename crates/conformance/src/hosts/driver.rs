//! A host driver process and the JSON-lines protocol of docs/hosts.md, seen from
//! the runner: start it, send a request, serve its `host_call`s, read the answer,
//! all under a timeout. A driver that crashes, hangs or prints garbage is killed
//! and reported with its stderr; the next cell gets a fresh one.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// How much of a driver's stderr a failure shows.
const STDERR_TAIL: usize = 4000;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(v: &Value) -> Result<Vec<u8>, String> {
    let s = v.as_str().ok_or("expected a base64 string")?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("bad base64: {e}"))
}

/// Serves a driver's `host_call`: the host function's name and argument bytes in,
/// its result bytes out (or why it failed).
pub type Serve<'a> = dyn FnMut(&str, Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, String> + 'a;

/// One running driver.
pub struct Driver {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Result<String, String>>,
    stderr: Arc<Mutex<String>>,
}

impl Driver {
    /// Starts `program args...` in `dir`.
    pub fn start(
        name: &str,
        dir: &Path,
        program: &Path,
        args: &[String],
    ) -> Result<Driver, String> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the {name} driver ({}): {e}: run `cargo xtask setup`",
                    program.display()
                )
            })?;
        let stdin = child.stdin.take().ok_or("driver has no stdin")?;
        let stdout = child.stdout.take().ok_or("driver has no stdout")?;
        let mut err = child.stderr.take().ok_or("driver has no stderr")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let end = line.is_err();
                if tx.send(line.map_err(|e| e.to_string())).is_err() || end {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut err, &mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                if s.len() > 4 * STDERR_TAIL {
                    let cut = s.len() - STDERR_TAIL;
                    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.replace_range(..cut, "");
                }
            }
        });
        Ok(Driver {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            stderr,
        })
    }

    /// The driver's stderr so far (its tail), for messages.
    pub fn stderr(&self) -> String {
        let s = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let start = s.len().saturating_sub(STDERR_TAIL);
        let start = (start..=s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s[start..].trim_end().to_owned()
    }

    /// Sends `request` and returns the response, answering the driver's
    /// `host_call`s with `serve` meanwhile. Fails (and the driver must be dropped)
    /// on a timeout, a crash, or a line that is not the protocol.
    pub fn request(
        &mut self,
        request: &Value,
        timeout: Duration,
        serve: &mut Serve<'_>,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        self.send(request)?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(Ok(line)) => line,
                Ok(Err(e)) => return Err(self.broken(&format!("its stdout failed: {e}"))),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.broken(&format!(
                        "it did not answer `{}` within {} ms",
                        request["op"].as_str().unwrap_or("?"),
                        timeout.as_millis()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(self.broken(&format!("it exited ({status})")));
                }
            };
            let msg: Value = match serde_json::from_str(&line) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    let shown: String = line.chars().take(200).collect();
                    return Err(self.broken(&format!(
                        "it printed a line that is not protocol JSON: {shown:?}"
                    )));
                }
            };
            if msg["op"] != "host_call" {
                return Ok(msg);
            }
            let name = msg["name"].as_str().unwrap_or_default().to_owned();
            let args: Result<Vec<Vec<u8>>, String> = msg["args_b64"]
                .as_array()
                .map(|a| a.iter().map(unb64).collect())
                .unwrap_or_else(|| Ok(Vec::new()));
            let reply = match args.and_then(|args| serve(&name, args)) {
                Ok(results) => {
                    json!({"results_b64": results.iter().map(|r| b64(r)).collect::<Vec<_>>()})
                }
                Err(e) => json!({"error": e}),
            };
            self.send(&reply)?;
        }
    }

    fn send(&mut self, value: &Value) -> Result<(), String> {
        let mut line = value.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| self.broken(&format!("cannot write to it: {e}")))
    }

    /// Kills the driver and says why, with its stderr.
    fn broken(&mut self, why: &str) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Give the stderr reader a moment to drain what the driver wrote last.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self.stderr();
        let mut msg = format!("the {} driver failed: {why}", self.name);
        if !stderr.is_empty() {
            msg.push_str(&format!("\n--- {} stderr ---\n{stderr}", self.name));
        }
        msg
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resolves `{state}` in a host.toml command word.
pub fn expand(word: &str, state: &Path) -> String {
    word.replace("{state}", &state.to_string_lossy())
}

/// The program of a `run` command: a path relative to the host folder, or a name on PATH.
pub fn program(word: &str, dir: &Path) -> PathBuf {
    let p = Path::new(word);
    if p.is_absolute() || !word.contains('/') {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
