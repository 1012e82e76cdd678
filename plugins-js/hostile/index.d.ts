declare module "main" {
  export function output_64mib(): I32;
  export function var_too_big(): I32;
  export function log_million(): I32;
  export function echo(): I32;
  export function host_fn_spin(): I32;
  export function host_fn_recurse(): I32;
  export function fetch(): I32;
}

declare module "extism:host" {
  interface user {
    kv_read(key: PTR): PTR;
  }
}
