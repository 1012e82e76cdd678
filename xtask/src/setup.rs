//! `cargo xtask setup`: installs the wasm toolchains that are missing, with no
//! prompt, so a bare machine (or CI) gets ready with one command. Running it
//! again installs nothing and says so.

use anyhow::{bail, Result};

use crate::project::Project;
use crate::{flags, lang, provision};

impl flags::Setup {
    pub fn run(self, project: &Project) -> Result<()> {
        if self.hosts_only {
            let broken = crate::hosts::setup_all(project, &self.host)?;
            if !broken.is_empty() {
                bail!("hosts not set up: {}", broken.join("; "));
            }
            return Ok(());
        }
        // Optional tools first: detection reports whether a language uses them.
        let tools = provision::npm_tools(project);
        let langs = lang::all();
        let detected = provision::detect_all(project, &langs);
        let mut outcome = provision::ensure(project, &langs, detected)?;
        outcome.installed.extend(tools);
        let mut missing = Vec::new();
        for (lang, tc) in langs.iter().zip(&outcome.toolchains) {
            if tc.ready {
                println!(
                    "{}: ready ({}, {} {})",
                    lang.name(),
                    tc.strategy,
                    tc.name,
                    tc.version
                );
            } else {
                println!("{}: {}", lang.name(), tc.hint);
                if tc.strategy != "unsupported" {
                    missing.push(lang.name());
                }
            }
        }
        if outcome.installed.is_empty() {
            println!("setup: nothing to install");
        } else {
            println!("setup: installed {}", outcome.installed.join("; "));
        }
        let broken = crate::hosts::setup_all(project, &self.host)?;
        if !missing.is_empty() {
            let todo = if outcome.todo.is_empty() {
                String::new()
            } else {
                format!("; run:\n  {}", outcome.todo.join("\n  "))
            };
            bail!("still missing: {}{todo}", missing.join(", "));
        }
        if !broken.is_empty() {
            bail!("hosts not set up: {}", broken.join("; "));
        }
        Ok(())
    }
}
