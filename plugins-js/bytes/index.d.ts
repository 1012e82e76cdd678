declare module "main" {
  export function echo(): I32;
  export function reverse(): I32;
  export function length(): I32;
}
