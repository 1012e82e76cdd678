declare module "main" {
  export function fail(): I32;
  export function panic(): I32;
}
