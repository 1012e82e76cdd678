// raw-add: a plain numeric export, no Extism ABI. `| 0` keeps JS numbers in
// i32 range with the same wrapping as the other languages.
function add(a, b) {
  return (a + b) | 0;
}

module.exports = { add };
