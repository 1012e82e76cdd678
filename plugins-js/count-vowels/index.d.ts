declare module "main" {
  export function count_vowels(): I32;
}
