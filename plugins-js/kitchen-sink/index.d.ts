declare module "main" {
  export function echo_bytes(): I32;
  export function echo_string(): I32;
  export function config(): I32;
  export function vars(): I32;
  export function log(): I32;
  export function http_get(): I32;
  export function fail(): I32;
}
