declare module "main" {
  export function remember(): I32;
  export function recall(): I32;
}

declare module "extism:host" {
  interface user {
    kv_write(key: PTR, value: PTR): void;
    kv_read(key: PTR): PTR;
  }
}
