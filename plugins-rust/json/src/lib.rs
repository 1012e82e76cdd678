//! Spec `json`: typed JSON in and out with serde. Input that does not have the
//! expected shape is a plugin error starting `invalid input`, never a panic.

use extism_pdk::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Scores {
    name: String,
    scores: Vec<f64>,
}

/// Field order is the output's key order, shared by every language. Numbers
/// are pre-formatted (see `number`); `None` is written as `null`.
#[derive(Serialize)]
struct Summary {
    name: String,
    count: usize,
    sum: Box<RawValue>,
    min: Option<Box<RawValue>>,
    max: Option<Box<RawValue>>,
    mean: Option<Box<RawValue>>,
}

#[plugin_fn]
pub fn summarize(input: Vec<u8>) -> FnResult<String> {
    let Scores { name, scores } = serde_json::from_slice(&input)
        .map_err(|err| Error::msg(format!("invalid input: {err}")))?;

    // Not `.sum()`: that starts from -0.0, and an empty list would give `-0`.
    let sum = scores.iter().fold(0.0, |sum, x| sum + x);
    let min = scores.iter().copied().reduce(f64::min);
    let max = scores.iter().copied().reduce(f64::max);
    let mean = (!scores.is_empty()).then(|| sum / scores.len() as f64);

    let summary = Summary {
        name: name.to_uppercase(),
        count: scores.len(),
        sum: number(sum)?,
        min: min.map(number).transpose()?,
        max: max.map(number).transpose()?,
        mean: mean.map(number).transpose()?,
    };
    Ok(serde_json::to_string(&summary)?)
}

/// Writes a number as JavaScript and Go do, so every language gives the same
/// bytes: plain decimals from 1e-6 to 1e21 (`6`, not serde's `6.0`), and
/// exponents with a sign outside (`1e+21`). Infinity is an error.
fn number(x: f64) -> Result<Box<RawValue>, Error> {
    let text = if x == 0.0 || (1e-6..1e21).contains(&x.abs()) {
        x.to_string()
    } else {
        format!("{x:e}").replace('e', "e+").replace("e+-", "e-")
    };
    Ok(RawValue::from_string(text)?)
}
