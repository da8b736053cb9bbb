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

  it('counts entry bytes plus key length plus a fixed overhead, evicts least recently used, refuses an entry over the cap', async () => {
    const disposed: string[] = [];
    const store = new MemoryLruStore(1000, (k) => disposed.push(k));
    expect(await store.set('a', entry(300), 60_000)).toBe(true);
    expect(await store.set('b', entry(300), 60_000)).toBe(true);
    expect(store.bytes).toBe(2 * (300 + 1 + 96));
    await store.get('a'); // a is now the most recent
    expect(await store.set('c', entry(300), 60_000)).toBe(true);
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

  it('keeps its own exact-size copy of a value that is a slice of a bigger allocation', async () => {
    const store = new MemoryLruStore(10_000);
    const slab = Buffer.alloc(16_384, 7);
    const slice = slab.subarray(100, 600); // what zlib, Buffer.concat or a socket read hand out
    await store.set('sliced', { value: slice }, 60_000);
    const valueOf = async (key: string): Promise<Buffer> => {
      const got: unknown = await store.get(key);
      return (got as { value: Buffer }).value;
    };
    const kept = await valueOf('sliced');
    expect(kept.equals(slice)).toBe(true);
    expect(kept.buffer.byteLength).toBe(500); // the 16 KB slab is not kept alive by the cache
    const whole = Buffer.from(Uint8Array.from([1, 2, 3]).buffer);
    await store.set('whole', { value: whole }, 60_000);
    expect(await valueOf('whole')).toBe(whole); // no needless copy
  });

  it('refuses values that are not bytes', async () => {
    const store = new MemoryLruStore(100);
    expect(await store.set('x', { value: 'text' as unknown as Buffer }, 1000)).toBe(false);
  });
});
