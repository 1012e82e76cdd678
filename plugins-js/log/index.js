// log: one line per level through console, which maps to the Extism log
// functions (trace, debug, info, warn, error); outputs `done`.
function log() {
  const input = Host.inputString();
  console.trace(`trace: ${input}`);
  console.debug(`debug: ${input}`);
  console.info(`info: ${input}`);
  console.warn(`warn: ${input}`);
  console.error(`error: ${input}`);
  Host.outputString("done");
}

module.exports = { log };
