//! Starting `polyplug serve` for a test, and a small blocking HTTP client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const PLUGINS_WAT: &str = include_str!("plugins.wat");

/// Writes DIR/NAME.wasm (atomically, as build-all does) whose `work` answers `version` (7 bytes).
pub fn module(dir: &Path, name: &str, version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 7, "versions are 7 bytes: {version}");
    let wasm = wat::parse_str(PLUGINS_WAT.replace("VERSION", version)).unwrap();
    replace(&dir.join(format!("{name}.wasm")), &wasm);
    wasm
}

pub fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_polyplug"));
    cmd.arg("serve").args(args);
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd
}

/// Runs a serve that must not start: its exit code and stderr.
pub fn run_to_end(args: &[&str]) -> (Option<i32>, String) {
    let out = command(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run polyplug");
    assert!(
        out.stdout.is_empty(),
        "it started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub struct Server {
    pub addr: String,
    child: Child,
    log: PathBuf,
    _logdir: tempfile::TempDir,
    agent: Client,
}

impl Server {
    pub fn start(args: &[&str]) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("stderr");
        let mut child = command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("cannot start polyplug serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_default();
        let Some(addr) = line
            .trim()
            .strip_prefix("polyplug serve: listening on http://")
        else {
            let _ = child.kill();
            panic!(
                "serve did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Server {
            addr: addr.to_string(),
            agent: Client::new(addr),
            child,
            log,
            _logdir: logdir,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.addr)
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        self.agent.post(path, body)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.agent.get(path)
    }

    pub fn spawn_post(&self, path: &str, body: &[u8]) -> JoinHandle<Reply> {
        let (client, path, body) = (self.client(), path.to_string(), body.to_vec());
        std::thread::spawn(move || client.post(&path, &body))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited 30 s for {what}; server log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for_log(&self, text: &str) {
        self.wait_until(&format!("`{text}` in the log"), || {
            self.log().contains(text)
        });
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    pub fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "serve did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP client that returns every status as a reply.
#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(addr: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client {
            base: format!("http://{addr}"),
            agent,
        }
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        let url = format!("{}/v1/plugins/{path}", self.base);
        Reply::from(
            self.agent
                .post(&url)
                .send(body)
                .unwrap_or_else(|e| panic!("POST {url}: {e}")),
        )
    }

    pub fn get(&self, path: &str) -> Reply {
        let url = format!("{}{path}", self.base);
        Reply::from(
            self.agent
                .get(&url)
                .call()
                .unwrap_or_else(|e| panic!("GET {url}: {e}")),
        )
    }
}

pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl From<ureq::http::Response<ureq::Body>> for Reply {
    fn from(mut r: ureq::http::Response<ureq::Body>) -> Reply {
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = r
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        Reply {
            status: r.status().as_u16(),
            headers,
            body,
        }
    }
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Debian's `chromium`, when installed.
pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// The page's DOM after its scripts ran, from headless Chromium.
pub fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
