//! wrk, the load generator of `bench-serve`: the Lua script that makes its
//! requests POSTs with a body, one run, and the figures read back from its
//! report, errors included (a run with failed requests is not a clean number).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// One wrk run as its report tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub requests: u64,
    pub per_sec: f64,
    /// Latency percentiles, in microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    /// Responses outside 2xx and 3xx.
    pub non_2xx: u64,
    /// connect, read, write and timeout errors together.
    pub socket_errors: u64,
}

impl Run {
    /// What went wrong in this run, if anything.
    pub fn errors(&self) -> Option<String> {
        let mut said = Vec::new();
        if self.non_2xx > 0 {
            said.push(format!("{} non-2xx responses", self.non_2xx));
        }
        if self.socket_errors > 0 {
            said.push(format!("{} socket errors", self.socket_errors));
        }
        (!said.is_empty()).then(|| said.join(", "))
    }
}

/// wrk's path, or the command that installs it.
pub fn find() -> Result<PathBuf> {
    which::which("wrk").map_err(|_| {
        anyhow::anyhow!("wrk is not on PATH: install it with `apt-get install -y wrk`")
    })
}

/// Writes `<name>.lua` in `dir`: every request a POST of the bytes in `body`
/// (read by Lua at start, so no body has to be escaped into the script).
pub fn post_script(dir: &Path, name: &str, body: &Path) -> Result<PathBuf> {
    let script = dir.join(format!("{name}.lua"));
    let text = format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n\
         local f = assert(io.open({body:?}, \"rb\"))\n\
         wrk.body = f:read(\"*a\")\n\
         f:close()\n",
        body = body.to_string_lossy()
    );
    std::fs::write(&script, text).with_context(|| format!("cannot write {}", script.display()))?;
    Ok(script)
}

/// One run of `seconds` at `connections`, on min(connections, 2) threads.
pub fn run(wrk: &Path, script: &Path, url: &str, connections: u32, seconds: u32) -> Result<Run> {
    let threads = connections.clamp(1, 2);
    let mut cmd = Command::new(wrk);
    cmd.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(url);
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        bail!("{}", crate::lang::command_failure(&shown, &out));
    }
    let report = String::from_utf8_lossy(&out.stdout);
    parse(&report).with_context(|| format!("cannot read the report of {shown}:\n{report}"))
}

/// The figures of a wrk report (`--latency`, so with its percentiles).
pub fn parse(report: &str) -> Result<Run> {
    let (mut requests, mut per_sec, mut p50, mut p99) = (None, None, None, None);
    let (mut non_2xx, mut socket_errors) = (0, 0);
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => per_sec = Some(n.parse::<f64>()?),
            ["50%", t] => p50 = Some(micros(t)?),
            ["99%", t] => p99 = Some(micros(t)?),
            [n, "requests", "in", ..] => requests = Some(n.parse::<u64>()?),
            ["Non-2xx", "or", "3xx", "responses:", n] => non_2xx = n.parse()?,
            ["Socket", "errors:", counts @ ..] => {
                // connect 0, read 6, write 97537, timeout 0
                for pair in counts.chunks(2) {
                    if let [_, n] = pair {
                        socket_errors += n.trim_end_matches(',').parse::<u64>()?;
                    }
                }
            }
            _ => {}
        }
    }
    let missing = |what: &str| anyhow::anyhow!("no {what} in wrk's report");
    Ok(Run {
        requests: requests.ok_or_else(|| missing("request count"))?,
        per_sec: per_sec.ok_or_else(|| missing("Requests/sec"))?,
        p50_us: p50.ok_or_else(|| missing("50% latency (was --latency passed?)"))?,
        p99_us: p99.ok_or_else(|| missing("99% latency (was --latency passed?)"))?,
        non_2xx,
        socket_errors,
    })
}

/// A wrk duration (`429.00us`, `1.05ms`, `2.00s`, `1.50m`) in microseconds.
fn micros(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("`{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => bail!("`{text}`: unknown unit `{unit}`"),
    };
    let number: f64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a duration"))?;
    // wrk prints two decimals: round away the float noise of the scaling.
    Ok((number * scale * 1e3).round() / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from wrk 4.1.0 (Debian) against bench/serve-go.
    const CLEAN: &str = "\
Running 2s test @ http://127.0.0.1:18787/v1/plugins/lang-a/count-vowels/count_vowels
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    19.77ms   19.06ms 141.74ms   76.92%
    Req/Sec   491.58    108.79   696.00     67.50%
  Latency Distribution
     50%   15.95ms
     75%   28.82ms
     90%   45.45ms
     99%   81.53ms
  1958 requests in 2.00s, 304.03KB read
Requests/sec:    977.45
Transfer/sec:    151.77KB
";

    const NOT_FOUND: &str = "\
Running 1s test @ http://127.0.0.1:18787/v1/plugins/lang-a/nope/x
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   114.18us  446.69us   7.34ms   96.88%
    Req/Sec    18.99k     4.06k   24.27k    70.00%
  Latency Distribution
     50%   46.00us
     75%   57.00us
     90%   94.00us
     99%    2.03ms
  18895 requests in 1.00s, 3.15MB read
  Non-2xx or 3xx responses: 18895
Requests/sec:  18838.75
Transfer/sec:      3.14MB
";

    // The server was killed one second into the run.
    const SERVER_GONE: &str = "\
Running 3s test @ http://127.0.0.1:18788/v1/plugins/lang-a/count-vowels/count_vowels
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.00ms    5.59ms  31.38ms   84.72%
    Req/Sec   331.60     88.52   494.00     65.00%
  Latency Distribution
     50%    4.16ms
     75%    8.31ms
     90%   13.77ms
     99%   26.74ms
  661 requests in 3.01s, 102.64KB read
  Socket errors: connect 0, read 6, write 97537, timeout 0
Requests/sec:    219.89
Transfer/sec:     34.14KB
";

    #[test]
    fn clean_report() {
        let run = parse(CLEAN).unwrap();
        assert_eq!(
            run,
            Run {
                requests: 1958,
                per_sec: 977.45,
                p50_us: 15950.0,
                p99_us: 81530.0,
                non_2xx: 0,
                socket_errors: 0,
            }
        );
        assert_eq!(run.errors(), None);
    }

    #[test]
    fn errors_are_counted() {
        let run = parse(NOT_FOUND).unwrap();
        assert_eq!((run.p50_us, run.p99_us), (46.0, 2030.0));
        assert_eq!(run.errors().as_deref(), Some("18895 non-2xx responses"));
        let run = parse(SERVER_GONE).unwrap();
        assert_eq!(run.socket_errors, 6 + 97537);
        assert_eq!(run.errors().as_deref(), Some("97543 socket errors"));
    }

    #[test]
    fn report_without_percentiles_is_an_error() {
        let cut: String = CLEAN
            .lines()
            .filter(|l| !l.contains('%'))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = parse(&cut).unwrap_err().to_string();
        assert!(err.contains("50% latency"), "{err}");
    }

    #[test]
    fn units() {
        assert_eq!(micros("1.50m").unwrap(), 90e6);
        assert_eq!(micros("2.00s").unwrap(), 2e6);
        assert!(micros("12").is_err());
    }
}
