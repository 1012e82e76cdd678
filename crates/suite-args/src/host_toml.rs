//! `hosts/<name>/host.toml` (docs/hosts.md): one official runtime's needs, setup
//! and driver. Read by the suite runner (to start drivers) and by `cargo xtask`
//! (to set hosts up and report them), so it is declared once, here.

use std::path::Path;

use serde::Deserialize;

/// One `host.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostToml {
    pub name: String,
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub setup: Vec<Vec<String>>,
    #[serde(default)]
    pub inputs: Vec<String>,
    pub run: Vec<String>,
}

impl HostToml {
    pub fn load(dir: &Path) -> Result<HostToml, String> {
        let file = dir.join("host.toml");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let host: HostToml =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if host.name != folder {
            return Err(format!(
                "{}: name = {:?} but the folder is {folder:?}: make them the same",
                file.display(),
                host.name
            ));
        }
        if host.run.is_empty() {
            return Err(format!(
                "{}: `run` is empty: name the driver to start",
                file.display()
            ));
        }
        Ok(host)
    }
}
