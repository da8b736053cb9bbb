/** A memoised count: `exact` when it came from BPE, otherwise from `estimateTokens`. */
export interface MemoEntry {
  tokens: number;
  exact: boolean;
}

/**
 * Bounded LRU of token counts keyed by the counted string itself.
 *
 * Why the string is the key: V8 hashes and compares string keys natively. Measured on a fresh copy
 * (as every JSON.parse yields), a lookup costs ~6 µs at 1 KB, ~30 µs at 16 KB and ~60 µs at 400 KB,
 * while hashing the same text in JS (FNV-1a) costs ~10 µs per KB. The price is that keys are retained,
 * so the cap is on total characters as well as on entries.
 */
export class TokenMemo {
  private readonly map = new Map<string, MemoEntry>();
  private chars = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxChars: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get totalChars(): number {
    return this.chars;
  }

  get(key: string): MemoEntry | undefined {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Re-insert to mark as most recently used (Map iterates in insertion order).
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  set(key: string, entry: MemoEntry): void {
    if (key.length > this.maxChars / 4) {
      // One huge string would evict most of the memo for a single reuse; it is estimated each time instead.
      return;
    }
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.chars -= key.length;
    }
    this.map.set(key, entry);
    this.chars += key.length;
    for (const oldest of this.map.keys()) {
      if (this.map.size <= this.maxEntries && this.chars <= this.maxChars) {
        break;
      }
      this.map.delete(oldest);
      this.chars -= oldest.length;
    }
  }

  clear(): void {
    this.map.clear();
    this.chars = 0;
  }
}
