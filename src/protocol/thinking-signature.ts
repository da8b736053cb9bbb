import { createHash } from 'node:crypto';

/**
 * Thinking blocks that come from a non-Anthropic upstream need a `signature` (clients require the field).
 * We mint one with a recognisable prefix so that, when the client sends the block back, it can be removed
 * before it reaches api.anthropic.com (which rejects foreign signatures, PROTOCOL.md §6.7).
 * The digest makes the signature deterministic for the same text, which keeps cache keys stable.
 */
export const MINTED_SIGNATURE_PREFIX = 'swysig1.';

export function mintThinkingSignature(thinking: string): string {
  return MINTED_SIGNATURE_PREFIX + createHash('sha256').update(thinking).digest('base64url');
}

export function isMintedSignature(signature: unknown): boolean {
  return typeof signature === 'string' && signature.startsWith(MINTED_SIGNATURE_PREFIX);
}
