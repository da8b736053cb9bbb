import type { CacheEntry } from './cache-entry.codec';
import { DecodedEntries } from './decoded-entries';

const entry = (text: string): CacheEntry => ({
  v: 1,
  target: 'p,m',
  storedAt: 1,
  events: [{ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }],
});

describe('DecodedEntries', () => {
  it('finds an entry by the identity of its stored Buffer only', () => {
    const memo = new DecodedEntries(1000);
    const data = Buffer.from('x');
    memo.set(data, entry('a'), 10);
    expect(memo.get(data)?.events).toHaveLength(1);
    expect(memo.get(Buffer.from('x'))).toBeUndefined(); // equal bytes, another Buffer: a replaced entry
  });

  it('deep-freezes what it shares between hits', () => {
    const memo = new DecodedEntries(1000);
    const shared = memo.set(Buffer.from('x'), entry('a'), 10);
    const ev = shared.events[0] as { delta: { text: string } };
    expect(() => {
      ev.delta.text = 'changed';
    }).toThrow(TypeError);
  });

  it('stays within its byte bound, evicting the least recently used', () => {
    const memo = new DecodedEntries(80);
    const buffers = Array.from({ length: 9 }, (_, i) => Buffer.from(String(i)));
    buffers.slice(0, 8).forEach((b, i) => memo.set(b, entry(String(i)), 10)); // exactly full
    memo.get(buffers[0]); // 0 is now the most recent: 1 is the oldest
    memo.set(buffers[8], entry('8'), 10);
    expect(memo.get(buffers[1])).toBeUndefined();
    expect(memo.get(buffers[0])).toBeDefined();
    expect(memo.size).toBe(8);
    expect(memo.totalBytes).toBe(80);
  });

  it('does not keep entries larger than an eighth of the bound', () => {
    const memo = new DecodedEntries(800);
    const big = Buffer.from('x');
    const kept = memo.set(big, entry('a'), 101);
    expect(kept.events).toHaveLength(1);
    expect(memo.get(big)).toBeUndefined();
    expect(Object.isFrozen(kept)).toBe(false);
  });
});
