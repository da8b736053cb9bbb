import { randomBytes } from 'node:crypto';

/**
 * Batch ids are `msgbatch_` + a ULID (Crockford base32: 10 characters of creation time in ms, 16 random),
 * so that sorting ids as strings sorts batches by creation time. The list index and its cursors rely on
 * that: a cursor keeps working after its batch was deleted.
 */
export const BATCH_ID_PREFIX = 'msgbatch_';
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const BATCH_ID = new RegExp(`^${BATCH_ID_PREFIX}[${ALPHABET}]{${TIME_CHARS + RANDOM_CHARS}}$`);

function encode(value: bigint, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/** The smallest id of the given millisecond: every batch created before it sorts lower. */
export function idFloor(ms: number): string {
  return `${BATCH_ID_PREFIX}${encode(BigInt(Math.max(0, Math.floor(ms))), TIME_CHARS)}`;
}

export function isBatchId(id: string): boolean {
  return BATCH_ID.test(id);
}

/**
 * Monotonic within a process: two ids of the same millisecond keep their creation order (the random part
 * of the later one is the earlier one's plus one, as the ULID spec does).
 */
export class BatchIdFactory {
  private lastMs = -1;
  private lastRandom = 0n;

  next(now: number): string {
    const ms = Math.max(now, this.lastMs);
    if (ms === this.lastMs) {
      this.lastRandom = (this.lastRandom + 1n) & ((1n << 80n) - 1n);
    } else {
      this.lastMs = ms;
      // 79 random bits: room to count up within the millisecond without wrapping.
      this.lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`) >> 1n;
    }
    return `${BATCH_ID_PREFIX}${encode(BigInt(ms), TIME_CHARS)}${encode(this.lastRandom, RANDOM_CHARS)}`;
  }
}
