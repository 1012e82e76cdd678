// limits: runaway plugins the host must stop: an endless loop (timeout),
// unbounded allocation (memory limit) and unbounded recursion (a trap).
function spin() {
  for (;;) {}
}

function grow() {
  const hoard = [];
  for (;;) {
    hoard.push(new Uint8Array(1 << 20).fill(1));
  }
}

function recurse() {
  return recurse() + 1;
}

module.exports = { spin, grow, recurse };
