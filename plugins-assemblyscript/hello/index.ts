// Spec `hello`: "{greeting}, {input}!", greeting from config `greeting` or
// `Hello`; an empty input greets `World`.
import { Config, Host } from "@extism/as-pdk";
import { output } from "../common";

export function greet(): i32 {
  const name = Host.inputString();
  const configured = Config.get("greeting");
  const greeting = configured === null ? "Hello" : configured;
  output(`${greeting}, ${name.length == 0 ? "World" : name}!`);
  return 0;
}
