declare module "main" {
  export function greet(): I32;
}
