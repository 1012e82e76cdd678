declare module "main" {
  export function fetch(): I32;
}
