import fc from 'fast-check';
import { MemoryLruStore } from './memory-keyv.store';

const entry = (bytes: number) => ({ value: Buffer.alloc(bytes, 1) });

describe('memory tier (byte-bounded LRU)', () => {
  it('never holds more bytes than its cap, whatever is written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 3000 })), {
          maxLength: 200,
        }),
        async (writes) => {
          const store = new MemoryLruStore(10_000);
          for (const [k, size] of writes) {
            await store.set(`key-${k}`, entry(size), 60_000);
            expect(store.bytes).toBeLessThanOrEqual(10_000);
          }
        },
      ),
    );
  });

  it('counts entry bytes plus key length, evicts least recently used, refuses an entry over the cap', async () => {
    const disposed: string[] = [];
    const store = new MemoryLruStore(1000, (k) => disposed.push(k));
    expect(await store.set('a', entry(395), 60_000)).toBe(true);
    expect(await store.set('b', entry(395), 60_000)).toBe(true);
    expect(store.bytes).toBe(792);
    await store.get('a'); // a is now the most recent
    expect(await store.set('c', entry(395), 60_000)).toBe(true);
    expect(disposed).toEqual(['b']);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.set('huge', entry(2000), 60_000)).toBe(false);
    expect(await store.get('huge')).toBeUndefined();
    expect(store.entries).toBe(2);
  });

  it('expires entries by their own TTL and dumps only live ones with absolute expiry', async () => {
    const store = new MemoryLruStore(10_000);
    await store.set('short', entry(10), 30);
    await store.set('long', entry(10), 60_000);
    const now = Date.now();
    const dump = [...store.dump(now)];
    expect(dump.map((d) => d.key).sort()).toEqual(['long', 'short']);
    expect(dump.find((d) => d.key === 'long')?.expiresAt).toBeGreaterThan(now + 59_000);
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.get('short')).toBeUndefined();
    expect([...store.dump()].map((d) => d.key)).toEqual(['long']);
  });

  it('refuses values that are not bytes', async () => {
    const store = new MemoryLruStore(100);
    expect(await store.set('x', { value: 'text' as unknown as Buffer }, 1000)).toBe(false);
  });
});
