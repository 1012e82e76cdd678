declare module "main" {
  export function log(): I32;
}
