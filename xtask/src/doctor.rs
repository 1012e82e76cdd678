//! `cargo xtask doctor`: which toolchain each language would build with, and
//! which official hosts are set up (with their versions), so a missing one is
//! found before a build fails, with the command that fixes it.

use anyhow::Result;
use serde_json::json;

use crate::project::Project;
use crate::{flags, lang, provision};

impl flags::Doctor {
    pub fn run(self, project: &Project) -> Result<()> {
        let langs = lang::all();
        let toolchains = provision::detect_all(project, &langs);
        let hosts = crate::hosts::all(project)?;
        let host_state = |h: &crate::hosts::Host| match (h.ready(), h.missing_need()) {
            (Some(ready), _) => (true, ready.version, String::new()),
            (None, Some(need)) => (
                false,
                String::new(),
                format!("`{need}` is not on PATH: {}", h.toml.hint),
            ),
            (None, None) => (
                false,
                String::new(),
                "not set up: run `cargo xtask setup`".to_string(),
            ),
        };
        if self.json {
            let mut languages = serde_json::Map::new();
            for (lang, tc) in langs.iter().zip(&toolchains) {
                let entry = json!({
                    "ready": tc.ready,
                    "strategy": tc.strategy,
                    "version": tc.version,
                    "hint": tc.hint,
                    "toolchain": tc.name,
                    "program": tc.program.to_string_lossy(),
                    "notes": tc.notes,
                });
                languages.insert(lang.name().to_string(), entry);
            }
            let mut host_map = serde_json::Map::new();
            for h in &hosts {
                let (ready, version, hint) = host_state(h);
                host_map.insert(
                    h.toml.name.clone(),
                    json!({"ready": ready, "version": version, "hint": hint, "about": h.toml.about}),
                );
            }
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({ "languages": languages, "hosts": host_map })
                )?
            );
            return Ok(());
        }
        let width = langs.iter().map(|l| l.name().len()).max().unwrap_or(0);
        for (lang, tc) in langs.iter().zip(&toolchains) {
            let state = if tc.ready { "ready" } else { "missing" };
            let version = if tc.version.is_empty() {
                "-".to_string()
            } else {
                format!("{} {}", tc.name, tc.version)
            };
            println!(
                "{:<width$} {:<8} {:<12} {:<16} {}",
                lang.name(),
                state,
                tc.strategy,
                version,
                tc.program.display()
            );
            if !tc.hint.is_empty() {
                println!("{:width$} {}", "", tc.hint);
            }
            for note in &tc.notes {
                println!("{:width$} {note}", "");
            }
        }
        println!(
            "host {:<14} ready    polyplug-host (in process)",
            crate::hosts::IN_PROCESS
        );
        for h in &hosts {
            let (ready, version, hint) = host_state(h);
            let state = if ready { "ready" } else { "missing" };
            println!(
                "host {:<14} {:<8} {}",
                h.toml.name,
                state,
                if ready { version } else { h.toml.about.clone() }
            );
            if !hint.is_empty() {
                println!("     {:<14} {hint}", "");
            }
        }
        Ok(())
    }
}
