//! Plays one case on one artifact on one host: builds the case's plan (manifest,
//! calls, and the services it asks for: HTTP server, kv host functions, a temporary
//! folder at a guest path, limits), hands it to the host (polyplug in process, or an
//! official runtime's driver), and masks everything run-specific (port, temp path)
//! before it reaches a snapshot. The services live here, once, whatever the host.

use std::path::Path;

use crate::artifacts::Artifacts;
use crate::fixture::{Case, Spec};
use crate::hosts::{CasePlan, Host, PlannedCall, Skip};
use crate::http_server::HttpServer;
use crate::outcome::{CallOutcome, CallResult, CaseRun};
use polyplug_host::KvStore;

/// Services shared by every case of a run.
pub struct Services {
    pub http: HttpServer,
}

impl Services {
    pub fn start() -> anyhow::Result<Services> {
        use anyhow::Context as _;
        Ok(Services {
            http: HttpServer::start()
                .context("cannot start the conformance HTTP server on 127.0.0.1")?,
        })
    }
}

pub struct Runner {
    services: Services,
    artifacts: Artifacts,
}

/// Outputs above this size are not scanned for run-specific strings to mask.
const MASK_LIMIT: usize = 64 * 1024;

impl Runner {
    pub fn new(artifacts: Artifacts) -> anyhow::Result<Runner> {
        Ok(Runner {
            services: Services::start()?,
            artifacts,
        })
    }

    pub fn artifacts(&self) -> &Artifacts {
        &self.artifacts
    }

    /// `lang`'s artifact of `spec` and its path, or why there is none.
    fn artifact(
        &self,
        spec: &Spec,
        lang: &str,
    ) -> Result<(&crate::artifacts::Artifact, std::path::PathBuf), Skip> {
        let artifact = self
            .artifacts
            .find(&spec.name, lang)
            .ok_or_else(|| Skip::Cannot(self.artifacts.missing_reason(&spec.name, lang)))?;
        let path = self.artifacts.absolute(artifact);
        if !path.exists() {
            return Err(Skip::Cannot(format!(
                "{} is listed in target/plugins/manifest.json but missing: run `cargo xtask build-all`",
                path.display()
            )));
        }
        Ok((artifact, path))
    }

    /// A plan that loads `lang`'s artifact of `spec` with no case settings and
    /// no calls (a session makes them), and the artifact's exports.
    pub fn plan_for_export_calls(
        &self,
        spec: &Spec,
        lang: &str,
        host: &dyn Host,
        timeout_ms: u64,
    ) -> Result<(CasePlan, Vec<String>), Skip> {
        let (artifact, path) = self.artifact(spec, lang)?;
        if let Some(why) = host.unsupported(&artifact.env_imports(), false) {
            return Err(Skip::Unsupported(why));
        }
        let plan = CasePlan {
            wasm: path,
            wasi: artifact.wasi,
            config: Default::default(),
            allowed_hosts: Vec::new(),
            allowed_path: None,
            timeout_ms: Some(timeout_ms),
            wait_ms: timeout_ms,
            max_pages: None,
            log_level: "info".into(),
            kv: None,
            calls: Vec::new(),
        };
        Ok((plan, artifact.exports.clone()))
    }

    /// Runs `case` on `lang`'s artifact on `host`.
    pub fn run_case(
        &self,
        spec: &Spec,
        case: &Case,
        lang: &str,
        host: &dyn Host,
    ) -> Result<CaseRun, Skip> {
        let (artifact, path) = self.artifact(spec, lang)?;
        for call in &case.calls {
            if !artifact.exports.is_empty() && !artifact.exports.contains(&call.export) {
                return Err(Skip::Cannot(format!(
                    "{} ({lang}) has no export `{}`, which {}:{} calls: implement it in the plugin or fix the case",
                    path.display(),
                    call.export,
                    spec.file.display(),
                    case.line
                )));
            }
        }
        let raw = case.calls.iter().any(|c| c.args.is_some());
        if let Some(why) = host.unsupported(&artifact.env_imports(), raw) {
            return Err(Skip::Unsupported(why));
        }
        let data_dir = match &case.allowed_path {
            Some(_) => Some(make_data_dir(case).map_err(|e| {
                Skip::Cannot(format!("cannot prepare the case's data folder: {e}"))
            })?),
            None => None,
        };
        let masker = Masker::new(&self.services.http, data_dir.as_ref().map(|d| d.path()));
        let kv = case.kv.as_ref().map(KvStore::seeded);
        let (timeout_ms, wait_ms) = case.limits_on(host.name(), lang);
        let plan = CasePlan {
            wasm: path.clone(),
            // Go's reactors import WASI whatever they do; the manifest says who does.
            wasi: artifact.wasi || data_dir.is_some(),
            config: case
                .config
                .iter()
                .map(|(k, v)| (k.clone(), masker.unmask(v)))
                .collect(),
            allowed_hosts: case.allowed_hosts.clone(),
            allowed_path: data_dir
                .as_ref()
                .zip(case.allowed_path.as_ref())
                .map(|(d, g)| (d.path().to_path_buf(), g.clone())),
            timeout_ms,
            wait_ms,
            max_pages: case.max_pages,
            log_level: case.log_level.clone(),
            kv: kv.clone(),
            calls: case
                .all_calls()
                .map(|call| PlannedCall {
                    export: call.export.clone(),
                    input: if call.input.template {
                        masker
                            .unmask(&String::from_utf8_lossy(&call.input.bytes))
                            .into_bytes()
                    } else {
                        call.input.bytes.clone()
                    },
                    args: call.args.clone(),
                })
                .collect(),
        };
        let raw_run = host.run(&plan).map_err(|skip| match skip {
            Skip::Cannot(e) => Skip::Cannot(format!("{} on {}: {e}", path.display(), host.name())),
            unsupported => unsupported,
        })?;
        let mut run = CaseRun::default();
        for (call, raw) in case.all_calls().zip(raw_run.calls) {
            let result = match raw.result {
                CallResult::Output(out) => CallResult::Output(masker.mask_bytes(out)),
                CallResult::Error { category, message } => CallResult::Error {
                    category,
                    message: masker.mask(&message),
                },
                other => other,
            };
            run.calls.push(CallOutcome {
                export: call.export.clone(),
                result,
                logs: raw
                    .logs
                    .into_iter()
                    .map(|(l, m)| (l, masker.mask(&m)))
                    .collect(),
            });
        }
        run.kv = kv.map(|kv| kv.snapshot());
        run.memory_warnings = raw_run
            .memory_warnings
            .iter()
            .map(|w| masker.mask(w))
            .collect();
        Ok(run)
    }
}

fn make_data_dir(case: &Case) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("polyplug-conformance-")
        .tempdir()?;
    for (name, bytes) in &case.files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    for (name, target) in &case.symlinks {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        symlink(target, &path)?;
    }
    Ok(dir)
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &str, link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(format!(
        "cannot create the symlink {}: cases with `symlinks` run on Unix only",
        link.display()
    )))
}

/// Swaps run-specific strings for stable placeholders (and back, for inputs).
struct Masker {
    base_url: String,
    localhost: String,
    tmp: Option<String>,
}

impl Masker {
    fn new(http: &HttpServer, tmp: Option<&Path>) -> Masker {
        Masker {
            base_url: http.base_url(),
            localhost: format!("localhost:{}", http.port()),
            tmp: tmp.map(|t| t.display().to_string()),
        }
    }

    fn unmask(&self, s: &str) -> String {
        s.replace("{{http}}", &self.base_url)
    }

    fn mask(&self, s: &str) -> String {
        let mut s = s
            .replace(&self.base_url, "{{http}}")
            .replace(&self.localhost, "localhost:{{port}}");
        if let Some(t) = &self.tmp {
            s = s.replace(t.as_str(), "{{tmp}}");
        }
        s
    }

    fn mask_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        if bytes.len() > MASK_LIMIT {
            return bytes;
        }
        match String::from_utf8(bytes) {
            Ok(s) => self.mask(&s).into_bytes(),
            Err(e) => e.into_bytes(),
        }
    }
}
