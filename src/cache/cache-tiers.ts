import { Keyv } from 'keyv';
import type { IoredisKeyvStore } from './ioredis-keyv.store';
import type { MemoryLruStore } from './memory-keyv.store';

/**
 * Keyv with its serializer and key prefixing off: the stores receive `{value: Buffer, expires}` under the
 * exact key given, and keep the compressed bytes as they are (the default JSON serializer would base64 them).
 */
export function rawKeyv(store: MemoryLruStore | IoredisKeyvStore): Keyv<Buffer> {
  const keyv = new Keyv<Buffer>(store, { namespace: undefined, useKeyPrefix: false });
  keyv.serialize = undefined;
  keyv.deserialize = undefined;
  return keyv;
}

/** A key prefix is literal text; SCAN MATCH would read glob characters in it as a pattern. */
export const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
