declare module "main" {
  export function summarize(): I32;
}
