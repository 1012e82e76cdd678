//! The compiler's promises that hold whatever the plugin does: the same input
//! gives the same bytes, and bad input is reported with a location and a fix.

mod common;

use polyplug_js::ErrorKind;

const GREET_DTS: &str = "declare module \"main\" {\n  export function greet(): I32;\n}\n";

fn build_err(name: &str, js: &str, dts: &str) -> polyplug_js::Error {
    let tmp = common::plugin_dir(name, js, dts);
    let dir = tmp.path();
    match polyplug_js::build(dir, common::engine()) {
        Ok(_) => panic!("{name}: the build should have failed"),
        Err(e) => e,
    }
}

#[test]
fn same_source_gives_same_bytes() {
    let first = common::build_spec("hello");
    let second = common::build_spec("hello");
    assert!(first == second, "two builds of plugins-js/hello differ");
}

#[test]
fn syntax_error_names_file_line_and_column() {
    let js = "function greet() {\n  Host.outputString(\"hi\";\n}\nmodule.exports = { greet };\n";
    let err = build_err("syntax", js, GREET_DTS);
    assert_eq!(err.kind(), ErrorKind::Source, "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("index.js:2:"),
        "no file:line:column in: {msg}"
    );
    assert!(msg.contains("SyntaxError"), "no QuickJS message in: {msg}");
}

#[test]
fn top_level_throw_is_a_build_error() {
    let js = "null.x;\nmodule.exports = {};\n";
    let err = build_err("toplevel", js, GREET_DTS);
    assert_eq!(err.kind(), ErrorKind::Source, "{err}");
    assert!(err.to_string().starts_with("index.js:1:"), "{err}");
    assert!(err.to_string().contains("TypeError"), "{err}");
}

#[test]
fn export_declared_but_missing_is_named() {
    let js = "function hello() {}\nmodule.exports = { hello };\n";
    let dts = "declare module \"main\" {\n  export function greet(): I32;\n  export function hello(): I32;\n}\n";
    let err = build_err("missing", js, dts);
    assert_eq!(err.kind(), ErrorKind::Source, "{err}");
    assert!(
        err.to_string()
            .contains("export `greet` is declared in index.d.ts"),
        "{err}"
    );
    assert!(!err.to_string().contains("`hello`"), "{err}");
}

#[test]
fn export_not_declared_is_named() {
    let js = "function greet() {}\nfunction extra() {}\nmodule.exports = { greet, extra };\n";
    let err = build_err("extra", js, GREET_DTS);
    assert_eq!(err.kind(), ErrorKind::Source, "{err}");
    assert!(
        err.to_string()
            .contains("exports `extra` but index.d.ts does not declare it"),
        "{err}"
    );
}

#[test]
fn dts_without_main_module_is_explained() {
    let err = build_err(
        "nomain",
        "module.exports = {};\n",
        "declare module \"other\" {}\n",
    );
    assert_eq!(err.kind(), ErrorKind::Source);
    assert!(err.to_string().contains("declare module \"main\""), "{err}");
}

#[test]
fn dts_unknown_export_type_is_refused_with_a_location() {
    let dts = "declare module \"main\" {\n  export function greet(name: string): I32;\n}\n";
    let err = build_err("params", "module.exports = {};\n", dts);
    assert_eq!(err.kind(), ErrorKind::Source);
    assert!(err.to_string().starts_with("index.d.ts:2:"), "{err}");
    assert!(
        err.to_string()
            .contains("export `greet` uses type `string`"),
        "{err}"
    );
}

#[test]
fn dts_reads_exports_and_host_functions() {
    use polyplug_js::dts::{parse, WasmType::*};
    let src = r#"
        // comments and other modules are skipped
        declare module "other" { export function nope(): I32; }
        declare module "main" {
          export function greet(): I32;
          /* a numeric export */ export function add(a: I32, b: I64): F64;
        }
        declare module "extism:host" {
          interface user {
            kv_write(key: PTR, value: PTR): void;
            kv_read(key: PTR): PTR;
            count(): I32;
          }
        }
    "#;
    let iface = parse(src, "index.d.ts").expect("parses");
    let exports: Vec<_> = iface
        .exports
        .iter()
        .map(|e| (e.name.as_str(), e.params.clone(), e.result))
        .collect();
    assert_eq!(
        exports,
        vec![
            ("greet", vec![], Some(I32)),
            ("add", vec![I32, I64], Some(F64))
        ]
    );
    let imports: Vec<_> = iface
        .imports
        .iter()
        .map(|f| (f.name.as_str(), f.params.clone(), f.result))
        .collect();
    assert_eq!(
        imports,
        vec![
            ("kv_write", vec![I64, I64], None),
            ("kv_read", vec![I64], Some(I64)),
            ("count", vec![], Some(I32))
        ]
    );
}

#[test]
fn dts_host_function_type_must_be_known() {
    let dts = "declare module \"main\" { export function greet(): I32; }\ndeclare module \"extism:host\" { interface user { f(x: string): PTR; } }\n";
    let err = build_err(
        "hosttype",
        "function greet() {}\nmodule.exports = { greet };\n",
        dts,
    );
    assert_eq!(err.kind(), ErrorKind::Source);
    assert!(err.to_string().contains("uses type `string`"), "{err}");
}

#[test]
fn missing_sources_are_io_errors() {
    let tmp = common::temp_dir("empty");
    let dir = tmp.path();
    let err = polyplug_js::build(dir, common::engine()).expect_err("an empty folder cannot build");
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("index.d.ts"), "{err}");
}

#[test]
fn a_module_that_is_not_the_engine_is_refused() {
    let tmp = common::plugin_dir(
        "notengine",
        "function greet() {}\nmodule.exports = { greet };\n",
        GREET_DTS,
    );
    let dir = tmp.path();
    let err =
        polyplug_js::build(dir, b"\0asm\x01\0\0\0").expect_err("an empty module is no engine");
    assert_eq!(err.kind(), ErrorKind::Engine, "{err}");
}
