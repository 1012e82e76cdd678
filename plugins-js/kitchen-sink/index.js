// kitchen-sink: every function of the Extism JS API once (input and output as
// bytes and as text, config, vars, logs, HTTP, errors), with outputs every
// language gives byte for byte. Not here, because the JS API cannot do them:
// removing a var (extism-js ignores Var.set(key, null)) and reading response
// headers (see fixtures/kitchen-sink/spec.toml).
const MISSING = "<missing>";

// The input bytes unchanged, through the byte APIs.
function echo_bytes() {
  Host.outputBytes(Host.inputBytes());
}

// `string: {input}`, through the string APIs.
function echo_string() {
  Host.outputString(`string: ${Host.inputString()}`);
}

// `{key}={value}` for the config key named by the input, or `{key} missing`.
function config() {
  const key = Host.inputString();
  const value = Config.get(key);
  Host.outputString(value === null || value === undefined ? `${key} missing` : `${key}=${value}`);
}

// Reads var `ks`, sets it, reads it, overwrites it, reads it again, then
// leaves the input in it for the next call.
function vars() {
  const input = Host.inputString();
  const read = () => Var.getString("ks") ?? MISSING;
  const before = read();
  Var.set("ks", "one");
  const set = read();
  Var.set("ks", "two");
  const overwrite = read();
  Var.set("ks", input);
  Host.outputString(`before=${before} set=${set} overwrite=${overwrite}`);
}

// `ks {level}: {input}` at every level, lowest first.
function log() {
  const input = Host.inputString();
  console.trace(`ks trace: ${input}`);
  console.debug(`ks debug: ${input}`);
  console.info(`ks info: ${input}`);
  console.warn(`ks warn: ${input}`);
  console.error(`ks error: ${input}`);
  Host.outputString("logged");
}

// GETs the input URL; `{status} {body}`.
function http_get() {
  const response = Http.request({ url: Host.inputString(), method: "GET" });
  Host.outputString(`${response.status} ${response.body}`);
}

// A thrown string becomes the plugin error's message as is.
function fail() {
  throw `kitchen-sink failed: ${Host.inputString()}`;
}

module.exports = { echo_bytes, echo_string, config, vars, log, http_get, fail };
