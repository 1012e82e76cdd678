//! The count-vowels spec as an xtp-test test: counts, the running total kept in
//! a var across calls on one instance, and `reset` clearing it. Runs against
//! every language's count-vowels plugin:
//! `polyplug test target/plugins/<lang>/count-vowels.wasm --with count_vowels_test.wasm`.
//!
//! `--mock-input-data 'TEXT=N'` adds one assertion: TEXT has N vowels.

use extism_pdk::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Count {
    count: u64,
    total: u64,
    vowels: String,
}

fn count(input: &str) -> Result<Count, Error> {
    let Json(c): Json<Count> = xtp_test::call("count_vowels", input)?;
    Ok(c)
}

#[plugin_fn]
pub fn test() -> FnResult<()> {
    let hello = count("Hello, World!")?;
    xtp_test::assert_eq("Hello, World! has 3 vowels", hello.count, 3);
    xtp_test::assert_eq("the default vowels", hello.vowels.as_str(), "aeiouAEIOU");
    xtp_test::assert_eq("an empty input has none", count("")?.count, 0);

    xtp_test::group("the running total grows across calls", || {
        for call in 1..=3 {
            let c = count("this is a test")?;
            xtp_test::assert_eq(format!("call {call} counts 4"), c.count, 4);
            xtp_test::assert_eq(format!("call {call} total"), c.total, 4 * call);
        }
        Ok(())
    })?;

    xtp_test::group("a reset starts the total afresh", || {
        let c = count("aaa")?;
        xtp_test::assert_eq("the total is this call's count", c.total, 3);
        Ok(())
    })?;

    if let Some(spec) = xtp_test::mock_input::<String>() {
        let (text, expected) = spec.rsplit_once('=').unwrap_or((spec.as_str(), "0"));
        let expected: u64 = expected.trim().parse().unwrap_or(0);
        xtp_test::assert_eq(
            format!("mock input: {text:?} has {expected} vowels"),
            count(text)?.count,
            expected,
        );
    }

    let nanos = xtp_test::time_ns("count_vowels", "o".repeat(10 * 1024))?;
    xtp_test::assert_gt("a 10 KiB call takes measurable time", nanos, 0);
    Ok(())
}
