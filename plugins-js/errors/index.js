// errors: the two ways a call fails. A thrown string becomes the plugin
// error's message as is; a thrown Error also carries its JS stack.
function fail() {
  throw `failed: ${Host.inputString()}`;
}

function panic() {
  throw new Error(`panic: ${Host.inputString()}`);
}

module.exports = { fail, panic };
