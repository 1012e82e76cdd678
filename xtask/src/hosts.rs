//! The official runtimes the suite runs on, seen from the orchestrator: each
//! `hosts/<name>/host.toml` (docs/hosts.md) says what the host needs and how to
//! set it up. `setup` runs those commands once per change of the host's inputs
//! and leaves `target/hosts/<name>/.ready` (the inputs' hash and what the driver's
//! `describe` said); `doctor` reads it. Nothing here names a host.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use polyplug_suite_args::HostToml;

use crate::project::Project;

pub struct Host {
    pub toml: HostToml,
    pub dir: PathBuf,
    pub state: PathBuf,
}

/// What `.ready` holds.
#[derive(Debug, Default, serde::Serialize, Deserialize)]
pub struct Ready {
    pub inputs: String,
    pub version: String,
}

/// Every `hosts/<name>/` with a host.toml, in name order.
pub fn all(project: &Project) -> Result<Vec<Host>> {
    let dir = project.root.join("hosts");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("host.toml").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let toml = HostToml::load(&dir).map_err(anyhow::Error::msg)?;
            let state = project.root.join("target/hosts").join(&toml.name);
            Ok(Host { toml, dir, state })
        })
        .collect()
}

/// The hosts named by `--host` (all of them when none is named).
pub fn select(project: &Project, names: &[String]) -> Result<Vec<Host>> {
    let mut hosts = all(project)?;
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| n.as_str() != IN_PROCESS && !hosts.iter().any(|h| &h.toml.name == *n))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<String> = std::iter::once(IN_PROCESS.to_string())
            .chain(hosts.iter().map(|h| h.toml.name.clone()))
            .collect();
        bail!(
            "unknown host {}: choose from {}",
            unknown
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        );
    }
    if !names.is_empty() {
        hosts.retain(|h| names.contains(&h.toml.name));
    }
    Ok(hosts)
}

/// The in-process host, which needs no setup.
pub const IN_PROCESS: &str = "polyplug";

impl Host {
    fn expand(&self, word: &str) -> String {
        word.replace("{state}", &self.state.to_string_lossy())
    }

    /// The hash of the host's inputs (and its host.toml).
    fn inputs_hash(&self) -> String {
        let mut h = Sha256::new();
        for name in std::iter::once("host.toml").chain(self.toml.inputs.iter().map(String::as_str))
        {
            h.update(name.as_bytes());
            h.update(std::fs::read(self.dir.join(name)).unwrap_or_default());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn ready(&self) -> Option<Ready> {
        let text = std::fs::read_to_string(self.state.join(".ready")).ok()?;
        let ready: Ready = serde_json::from_str(&text).ok()?;
        (ready.inputs == self.inputs_hash()).then_some(ready)
    }

    /// The first program in `needs` that is not on PATH.
    pub fn missing_need(&self) -> Option<&str> {
        self.toml
            .needs
            .iter()
            .find(|n| which::which(n).is_err())
            .map(String::as_str)
    }

    /// Runs the setup commands unless the host is ready for its current inputs.
    /// Returns the version the driver reports.
    pub fn setup(&self) -> Result<String> {
        if let Some(ready) = self.ready() {
            return Ok(ready.version);
        }
        if let Some(need) = self.missing_need() {
            bail!(
                "{}: `{need}` is not on PATH: {}",
                self.toml.name,
                self.toml.hint
            );
        }
        std::fs::create_dir_all(&self.state)
            .with_context(|| format!("cannot create {}", self.state.display()))?;
        let _ = std::fs::remove_file(self.state.join(".ready"));
        for words in &self.toml.setup {
            let words: Vec<String> = words.iter().map(|w| self.expand(w)).collect();
            let Some((program, args)) = words.split_first() else {
                continue;
            };
            println!("{}: {}", self.toml.name, words.join(" "));
            let out = Command::new(program)
                .args(args)
                .current_dir(&self.dir)
                .output()
                .with_context(|| {
                    format!(
                        "{}: cannot run `{program}`: {}",
                        self.toml.name, self.toml.hint
                    )
                })?;
            if !out.status.success() {
                bail!(
                    "{}",
                    crate::lang::command_failure(
                        &format!("{}: `{}`", self.toml.name, words.join(" ")),
                        &out
                    )
                );
            }
        }
        let version = self.describe().with_context(|| {
            format!(
                "{}: the driver was set up but does not answer `describe`",
                self.toml.name
            )
        })?;
        let ready = Ready {
            inputs: self.inputs_hash(),
            version: version.clone(),
        };
        std::fs::write(self.state.join(".ready"), serde_json::to_string(&ready)?)
            .with_context(|| format!("cannot write {}", self.state.display()))?;
        Ok(version)
    }

    /// Starts the driver and asks `describe`; the version it reports.
    fn describe(&self) -> Result<String> {
        let words: Vec<String> = self.toml.run.iter().map(|w| self.expand(w)).collect();
        let (program, args) = words.split_first().context("host.toml's `run` is empty")?;
        let program = if program.contains('/') && !Path::new(program).is_absolute() {
            self.dir.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut child = Command::new(&program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut stdin = child.stdin.take().context("no stdin")?;
        stdin.write_all(b"{\"op\":\"describe\"}\n")?;
        drop(stdin);
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
        let _ = child.wait();
        let reply: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("`describe` answered {line:?}, not JSON"))?;
        if reply["ok"] != true {
            bail!("`describe` answered {line}");
        }
        Ok(reply["version"].as_str().unwrap_or_default().to_string())
    }
}

/// Sets up the named hosts (all when none is named), each on its own: one that
/// fails is reported and the others still get set up. Returns the failures.
pub fn setup_all(project: &Project, names: &[String]) -> Result<Vec<String>> {
    let mut broken = Vec::new();
    for host in select(project, names)? {
        match host.setup() {
            Ok(version) => println!("host {}: ready ({version})", host.toml.name),
            Err(e) => {
                println!("host {}: not ready: {e:#}", host.toml.name);
                broken.push(format!("{}: {e:#}", host.toml.name));
            }
        }
    }
    Ok(broken)
}
