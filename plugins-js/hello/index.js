// hello: "{greeting}, {input}!" with greeting from config `greeting` (default
// `Hello`) and `World` for an empty input.
function greet() {
  const name = Host.inputString() || "World";
  const greeting = Config.get("greeting") ?? "Hello";
  Host.outputString(`${greeting}, ${name}!`);
}

module.exports = { greet };
