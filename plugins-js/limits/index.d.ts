declare module "main" {
  export function spin(): I32;
  export function grow(): I32;
  export function recurse(): I32;
}
