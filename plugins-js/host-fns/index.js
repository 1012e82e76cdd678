// host-fns: a key-value store that lives in the host, reached through the
// user host functions kv_write and kv_read (memory handles both ways).
const { kv_read, kv_write } = Host.getFunctions();

const EQUALS = 0x3d;

function remember() {
  const input = new Uint8Array(Host.inputBytes());
  const at = input.indexOf(EQUALS);
  if (at < 0) {
    throw "invalid input: expected key=value";
  }
  const key = Memory.fromBuffer(input.slice(0, at));
  const value = Memory.fromBuffer(input.slice(at + 1));
  kv_write(key.offset, value.offset);
  Host.outputString("ok");
}

function recall() {
  const key = Memory.fromBuffer(Host.inputBytes());
  const found = Memory.find(kv_read(key.offset)).readBytes();
  if (found.byteLength === 0) {
    Host.outputString("<missing>");
  } else {
    Host.outputBytes(found);
  }
}

module.exports = { remember, recall };
