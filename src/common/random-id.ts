import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for ids minted on every request (message, completion and tool ids). `randomBytes(n)` is one
 * call into the CSPRNG per id; this takes them from a pool filled 4 KB at a time, the way
 * `crypto.randomUUID()` batches its entropy. Still cryptographically random, never reused.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

function take(n: number): Buffer {
  if (n > POOL_BYTES) {
    return randomFillSync(Buffer.allocUnsafe(n));
  }
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n)); // a copy: the pool is refilled later
  offset += n;
  return out;
}

/** `n` random bytes as letters and digits only (base64url with `-`/`_` mapped to `x`), as provider ids look. */
export function randomAlnum(n: number): string {
  return take(n).toString('base64url').replace(/[-_]/g, 'x');
}

/** `n` random bytes as lowercase hex. */
export function randomHex(n: number): string {
  return take(n).toString('hex');
}
