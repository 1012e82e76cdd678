//! Declares one module per file in src/lang/ (mod.rs aside) and lists them for
//! `lang::all`, so adding a language is adding its file: nothing else names it.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lang");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut modules: Vec<String> = std::fs::read_dir(&dir)
        .expect("xtask/src/lang is readable")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| name != "mod")
        .collect();
    modules.sort();
    let mut code = String::new();
    for module in &modules {
        let path = dir.join(format!("{module}.rs"));
        code.push_str(&format!(
            "#[path = {:?}]\nmod {module};\n",
            path.display().to_string()
        ));
    }
    code.push_str("\n/// Every file in src/lang/, in file-name order (`all` sorts by `order`).\n");
    code.push_str("fn discovered() -> Vec<&'static dyn Language> {\n    vec![");
    for module in &modules {
        code.push_str(&format!("{module}::LANGUAGE, "));
    }
    code.push_str("]\n}\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("languages.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
