//! `cargo xtask ci-matrix`: the GitHub Actions matrix, derived from the same
//! discovery build-all uses, so a new language or plugin folder gets its CI job
//! without editing the workflow.

use anyhow::Result;
use serde_json::json;

use crate::project::Project;
use crate::{flags, lang};

impl flags::CiMatrix {
    pub fn run(self, project: &Project) -> Result<()> {
        let mut include = Vec::new();
        for lang in lang::all() {
            let toolchain = lang.detect(project);
            if toolchain.strategy == "unsupported" || lang.discover(project, &toolchain)?.is_empty()
            {
                continue;
            }
            let mut job = json!({ "lang": lang.name(), "os": "ubuntu-latest" });
            match lang.name() {
                "rust" => job["rust_targets"] = json!("wasm32-unknown-unknown,wasm32-wasip1"),
                "go" => job["tinygo"] = json!(false),
                _ => {}
            }
            include.push(job);
        }
        println!("{}", json!({ "include": include }));
        Ok(())
    }
}
