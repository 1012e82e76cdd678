// json: {"name":s,"scores":[n...]} -> {"name":UPPER,"count","sum","min","max","mean"}.
// Input of another shape is a plugin error starting `invalid input`.
function summarize() {
  let value;
  try {
    value = JSON.parse(Host.inputString());
  } catch (e) {
    // Thrown as a string: the caller gets exactly this message, no JS stack.
    throw `invalid input: ${e.message}`;
  }
  const ok =
    value !== null && typeof value === "object" && typeof value.name === "string" &&
    Array.isArray(value.scores) && value.scores.every((n) => typeof n === "number");
  if (!ok) {
    throw 'invalid input: expected {"name": string, "scores": [number, ...]}';
  }
  const scores = value.scores;
  const sum = scores.reduce((a, b) => a + b, 0);
  const empty = scores.length === 0;
  Host.outputString(JSON.stringify({
    name: value.name.toUpperCase(),
    count: scores.length,
    sum,
    min: empty ? null : Math.min(...scores),
    max: empty ? null : Math.max(...scores),
    mean: empty ? null : sum / scores.length,
  }));
}

module.exports = { summarize };
