/**
 * js-tiktoken publishes its rank tables only through package.json `exports`, which the repo's
 * `moduleResolution` (node10, implied by `module: commonjs`) does not read. Node and Jest do, so only
 * the type needs declaring here.
 */
declare module 'js-tiktoken/ranks/cl100k_base' {
  const ranks: { pat_str: string; special_tokens: Record<string, number>; bpe_ranks: string };
  export default ranks;
}
