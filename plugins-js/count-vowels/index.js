// count-vowels: counts the input's Unicode scalar values that are vowels and
// keeps a running total in var `total` (decimal text), so state survives
// across calls on one instance. Output bytes match every other language.
function count_vowels() {
  const input = Host.inputString();
  const vowels = Config.get("vowels") ?? "aeiouAEIOU";
  // Iterating a string visits code points, not UTF-16 units.
  const set = new Set(vowels);
  let count = 0;
  for (const ch of input) {
    if (set.has(ch)) count++;
  }
  const total = Number(Var.getString("total") ?? "0") + count;
  Var.set("total", String(total));
  // Built by hand to fix the key order; JSON.stringify only escapes the vowels.
  Host.outputString(`{"count":${count},"total":${total},"vowels":${JSON.stringify(vowels)}}`);
}

module.exports = { count_vowels };
