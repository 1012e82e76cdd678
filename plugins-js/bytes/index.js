// bytes: binary-safe echo, reverse and length; ArrayBuffers all the way, so
// NUL bytes and invalid UTF-8 pass through untouched.
function echo() {
  Host.outputBytes(Host.inputBytes());
}

function reverse() {
  Host.outputBytes(new Uint8Array(Host.inputBytes()).reverse());
}

function length() {
  Host.outputString(String(Host.inputBytes().byteLength));
}

module.exports = { echo, reverse, length };
