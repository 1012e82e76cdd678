//! `cargo xtask doctor`: which toolchain each language would build with, so a
//! missing one is found before a build fails, with the command that fixes it.

use anyhow::Result;
use serde_json::json;

use crate::project::Project;
use crate::{flags, lang, provision};

impl flags::Doctor {
    pub fn run(self, project: &Project) -> Result<()> {
        let langs = lang::all();
        let toolchains = provision::detect_all(project, &langs);
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
                });
                languages.insert(lang.name().to_string(), entry);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "languages": languages }))?
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
        }
        Ok(())
    }
}
