//! Empty: the benchmark lives in benches/host.rs; results and how to run it are in docs/bench.md.
