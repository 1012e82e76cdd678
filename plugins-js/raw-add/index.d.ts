declare module "main" {
  export function add(a: I32, b: I32): I32;
}
