//! What the suite runner and `cargo xtask` share, declared once: the suite's
//! flags ([`FLAGS`]: `cargo xtask conformance` parses its command line with
//! [`SuiteArgs::parse`] and hands the runner [`SuiteArgs::to_args`], which the
//! runner parses with the same function), a host's `host.toml` ([`HostToml`]),
//! and the environment a nested cargo must not inherit ([`leaked_env`]).
//! Free of wasmtime, so xtask stays quick to build.

mod host_toml;
mod leaked_env;

pub use host_toml::HostToml;
pub use leaked_env::leaked_env;

use std::path::PathBuf;

/// One flag: its name, its value's name (None for a switch), whether it may
/// repeat, and its help line.
pub struct Flag {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub repeated: bool,
    pub help: &'static str,
}

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--root",
        value: Some("DIR"),
        repeated: false,
        help: "the repository: fixtures/ and target/plugins/manifest.json live there (default .)",
    },
    Flag {
        name: "--lang",
        value: Some("L"),
        repeated: true,
        help: "only this language (one of target/plugins/manifest.json's)",
    },
    Flag {
        name: "--host",
        value: Some("H"),
        repeated: true,
        help: "only this host: polyplug, or a folder of hosts/ (default: every host set up)",
    },
    Flag {
        name: "--spec",
        value: Some("S"),
        repeated: true,
        help: "only this spec",
    },
    Flag {
        name: "--case",
        value: Some("C"),
        repeated: true,
        help: "only this case (`plain` or `hello::plain`)",
    },
    Flag {
        name: "--format",
        value: Some("F"),
        repeated: false,
        help: "human (default), json, junit or markdown",
    },
    Flag {
        name: "--out",
        value: Some("FILE"),
        repeated: false,
        help: "write the report there instead of stdout",
    },
    Flag {
        name: "--shard",
        value: Some("I/N"),
        repeated: false,
        help: "run the I-th of N deterministic slices of the cases",
    },
    Flag {
        name: "--deny-warnings",
        value: None,
        repeated: false,
        help: "fail cells with memory warnings (kernel-memory accesses outside a block)",
    },
    Flag {
        name: "--compiler",
        value: Some("C"),
        repeated: false,
        help: "the polyplug host's compiler: winch (quick to compile; the default on x86-64) or cranelift (the code `polyplug call` and `serve` run)",
    },
    Flag {
        name: "--skip-build",
        value: None,
        repeated: false,
        help: "(cargo xtask) do not build: run on the artifacts already in target/plugins/",
    },
];

/// Everything the flags say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuiteArgs {
    pub root: Option<PathBuf>,
    pub langs: Vec<String>,
    pub hosts: Vec<String>,
    pub specs: Vec<String>,
    pub cases: Vec<String>,
    pub format: Option<String>,
    pub out: Option<PathBuf>,
    pub shard: Option<String>,
    pub deny_warnings: bool,
    /// `--compiler`: cranelift or winch (checked when parsed).
    pub compiler: Option<String>,
    pub skip_build: bool,
    /// `-h` / `--help` was given.
    pub help: bool,
}

pub const FORMATS: &[&str] = &["human", "json", "junit", "markdown"];
/// `--compiler`'s values; the runner maps them to its compilers.
pub const COMPILERS: &[&str] = &["cranelift", "winch"];

impl SuiteArgs {
    /// Parses flags (not the program name). `--name value` and `--name=value` both work.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<SuiteArgs, String> {
        let mut out = SuiteArgs::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if arg == "-h" || arg == "--help" {
                out.help = true;
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let flag = FLAGS
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("unknown argument `{arg}`\n{}", usage("")))?;
            let value = match flag.value {
                None if inline.is_some() => return Err(format!("{name} takes no value")),
                None => String::new(),
                Some(v) => inline
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value ({v})"))?,
            };
            match name.as_str() {
                "--root" => out.root = Some(value.into()),
                "--lang" => out.langs.push(value),
                "--host" => out.hosts.push(value),
                "--spec" => out.specs.push(value),
                "--case" => out.cases.push(value),
                "--format" if !FORMATS.contains(&value.as_str()) => {
                    return Err(format!(
                        "--format {value}: use human, json, junit or markdown"
                    ))
                }
                "--format" => out.format = Some(value),
                "--out" => out.out = Some(value.into()),
                "--shard" => out.shard = Some(value),
                "--deny-warnings" => out.deny_warnings = true,
                "--compiler" if !COMPILERS.contains(&value.as_str()) => {
                    return Err(format!(
                        "--compiler {value}: use {}",
                        COMPILERS.join(" or ")
                    ))
                }
                "--compiler" => out.compiler = Some(value),
                "--skip-build" => out.skip_build = true,
                _ => unreachable!("every entry of FLAGS is matched above"),
            }
        }
        Ok(out)
    }

    /// The flags again, for the runner (`--skip-build` is xtask's and stays behind).
    pub fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(root) = &self.root {
            v.extend(["--root".into(), root.to_string_lossy().into_owned()]);
        }
        for (flag, values) in [
            ("--lang", &self.langs),
            ("--host", &self.hosts),
            ("--spec", &self.specs),
            ("--case", &self.cases),
        ] {
            for value in values {
                v.extend([flag.to_owned(), value.clone()]);
            }
        }
        if let Some(f) = &self.format {
            v.extend(["--format".into(), f.clone()]);
        }
        if let Some(out) = &self.out {
            v.extend(["--out".into(), out.to_string_lossy().into_owned()]);
        }
        if let Some(s) = &self.shard {
            v.extend(["--shard".into(), s.clone()]);
        }
        if let Some(c) = &self.compiler {
            v.extend(["--compiler".into(), c.clone()]);
        }
        if self.deny_warnings {
            v.push("--deny-warnings".into());
        }
        v
    }
}

/// The help text, after a `usage:` line for `program`.
pub fn usage(program: &str) -> String {
    let mut s = format!("usage: {program} [FLAGS]\n\n");
    for f in FLAGS {
        let head = match f.value {
            Some(v) => format!("{} {v}", f.name),
            None => f.name.to_owned(),
        };
        let again = if f.repeated { "; repeatable" } else { "" };
        s.push_str(&format!("  {head:<18} {}{again}\n", f.help));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SuiteArgs, String> {
        SuiteArgs::parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn round_trips_through_to_args() {
        let a = parse("--lang lang-a --host host-x --lang lang-b --spec hello --case plain --format json --out r.json --shard 1/2 --deny-warnings --compiler cranelift --root /x").unwrap();
        assert_eq!(a.langs, ["lang-a", "lang-b"]);
        let mut b = SuiteArgs::parse(a.to_args()).unwrap();
        b.skip_build = a.skip_build;
        assert_eq!(a, b);
        assert!(parse("--skip-build").unwrap().skip_build);
        assert!(!parse("--skip-build")
            .unwrap()
            .to_args()
            .contains(&"--skip-build".to_owned()));
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        assert!(parse("--nope")
            .unwrap_err()
            .contains("unknown argument `--nope`"));
        assert!(parse("--lang")
            .unwrap_err()
            .contains("--lang needs a value"));
        assert!(parse("--format xml")
            .unwrap_err()
            .contains("use human, json, junit or markdown"));
        assert!(parse("--deny-warnings=1")
            .unwrap_err()
            .contains("takes no value"));
        assert_eq!(parse("--spec=hello").unwrap().specs, ["hello"]);
        assert!(parse("--compiler llvm")
            .unwrap_err()
            .contains("use cranelift or winch"));
    }

    #[test]
    fn usage_lists_every_flag() {
        let u = usage("x");
        assert!(FLAGS.iter().all(|f| u.contains(f.name)));
    }
}
