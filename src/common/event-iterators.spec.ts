import { prepend, tapEach } from './event-iterators';

async function* numbers(n: number, released: { count: number }): AsyncGenerator<number> {
  try {
    for (let i = 0; i < n; i++) {
      yield i;
    }
  } finally {
    released.count += 1;
  }
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) {
    out.push(v);
  }
  return out;
}

describe('event iterators', () => {
  it('prepend: head first, then the rest, then done for good', async () => {
    const released = { count: 0 };
    const it = prepend([10, 11], numbers(3, released));
    expect(await drain(it)).toEqual([10, 11, 0, 1, 2]);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(released.count).toBe(1);
  });

  it('prepend: leaving early releases the source once', async () => {
    const released = { count: 0 };
    const it = prepend([10], numbers(5, released));
    for await (const v of it) {
      if (v === 0) {
        break;
      }
    }
    expect(released.count).toBe(1);
    await it.return?.();
    expect(released.count).toBe(1);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('tapEach: observes every item before the consumer, passes errors through', async () => {
    const seen: number[] = [];
    const released = { count: 0 };
    expect(await drain(tapEach(numbers(3, released), (v) => seen.push(v)))).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);

    const failing: AsyncIterator<number> = { next: () => Promise.reject(new Error('boom')) };
    await expect(tapEach(failing, () => undefined).next()).rejects.toThrow('boom');
  });

  it('tapEach: leaving early releases the source', async () => {
    const released = { count: 0 };
    const it = tapEach(numbers(5, released), () => undefined);
    await it.next();
    await it.return?.();
    expect(released.count).toBe(1);
  });
});
