import { HistoryWriter, type WriteBatch } from './history-writer';
import { historyRow } from './history.test-helpers';
import type { HistoryRow } from './history.types';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sink that records batches and lets the test decide when (and whether) each write finishes. */
function controlledSink() {
  const batches: HistoryRow[][] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const write: WriteBatch = (rows) =>
    new Promise<void>((resolve, reject) => {
      batches.push(rows);
      pending.push({ resolve, reject });
    });
  return { write, batches, pending };
}

describe('HistoryWriter', () => {
  const writers: HistoryWriter[] = [];
  const make = (
    write: WriteBatch,
    opts: Partial<{ batchSize: number; flushIntervalMs: number; maxQueue: number }> = {},
  ) => {
    const w = new HistoryWriter(write, { batchSize: 3, flushIntervalMs: 60_000, maxQueue: 10, ...opts });
    writers.push(w);
    return w;
  };
  afterEach(() => writers.splice(0).forEach((w) => w.stop()));

  it('push never writes inside the caller: a full batch goes on the next turn of the event loop', async () => {
    const sink = controlledSink();
    const w = make(sink.write);
    w.push(historyRow({ ts: 1 }));
    w.push(historyRow({ ts: 2 }));
    w.push(historyRow({ ts: 3 }));
    expect(sink.batches).toHaveLength(0);
    await tick();
    expect(sink.batches.map((b) => b.map((r) => r.ts))).toEqual([[1, 2, 3]]);
  });

  it('one batch in flight at a time, batchSize rows each, the next as soon as the previous is written', async () => {
    const sink = controlledSink();
    const w = make(sink.write);
    for (let i = 1; i <= 7; i++) {
      w.push(historyRow({ ts: i }));
    }
    await tick();
    expect(sink.batches).toHaveLength(1);
    sink.pending[0].resolve();
    await tick();
    await tick();
    expect(sink.batches.map((b) => b.map((r) => r.ts))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    sink.pending[1].resolve();
    await tick();
    await tick();
    expect(sink.batches).toHaveLength(2); // a partial batch waits for the interval
    expect(w.stats()).toMatchObject({ queued: 1, written: 6, accepted: 7, dropped: 0 });
  });

  it('a partial batch is written on the interval', async () => {
    const written: number[] = [];
    const w = make(async (rows) => void written.push(...rows.map((r) => r.ts)), { flushIntervalMs: 20 });
    w.start();
    w.push(historyRow({ ts: 42 }));
    await sleep(80);
    expect(written).toEqual([42]);
    expect(w.stats().lastWriteAt).not.toBeNull();
  });

  it('the queue is bounded: past maxQueue rows are dropped and counted, push stays O(1) and returns false', async () => {
    const w = make(() => new Promise<void>(() => undefined), { batchSize: 5, maxQueue: 20 }); // a disk that never answers
    let accepted = 0;
    for (let i = 0; i < 5; i++) {
      accepted += w.push(historyRow()) ? 1 : 0;
    }
    await tick(); // the first batch is now stuck in flight
    const started = process.hrtime.bigint();
    for (let i = 5; i < 10_000; i++) {
      accepted += w.push(historyRow()) ? 1 : 0;
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const s = w.stats();
    // 5 rows in the stuck batch + 20 queued; every other row dropped.
    expect(accepted).toBe(25);
    expect(s.queued).toBe(20);
    expect(s.dropped).toBe(10_000 - 25);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('a failed batch goes back to the front and is written on the next flush; errors are counted and reported', async () => {
    let fail = true;
    const written: number[] = [];
    const results: (string | undefined)[] = [];
    const w = new HistoryWriter(
      async (rows) => {
        if (fail) {
          throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
        }
        written.push(...rows.map((r) => r.ts));
      },
      { batchSize: 2, flushIntervalMs: 60_000, maxQueue: 10 },
      (err) => results.push(err?.message),
    );
    writers.push(w);
    [1, 2, 3].forEach((ts) => w.push(historyRow({ ts })));
    await w.flushOnce();
    expect(w.stats()).toMatchObject({
      failing: true,
      writeErrors: 1,
      queued: 3,
      dropped: 0,
      lastError: { message: 'database is locked', code: 'SQLITE_BUSY' },
    });
    fail = false;
    await w.flushOnce();
    await w.flushOnce();
    expect(written).toEqual([1, 2, 3]);
    expect(w.stats()).toMatchObject({ failing: false, written: 3, queued: 0 });
    expect(results).toEqual(['database is locked', undefined, undefined]);
  });

  it('a failed batch keeps only what fits: the queue never exceeds maxQueue, the rest is counted as dropped', async () => {
    const sink = controlledSink();
    const w = make(sink.write, { batchSize: 4, maxQueue: 6 });
    for (let i = 1; i <= 4; i++) {
      w.push(historyRow({ ts: i }));
    }
    await tick(); // batch [1..4] in flight
    for (let i = 5; i <= 10; i++) {
      w.push(historyRow({ ts: i }));
    }
    expect(w.stats().queued).toBe(6);
    sink.pending[0].reject(new Error('disk I/O error'));
    await tick();
    // No room for the failed rows; the queued ones are written next, oldest first.
    expect(w.stats()).toMatchObject({ dropped: 4, writeErrors: 1 });
    expect(sink.batches[1].map((r) => r.ts)).toEqual([5, 6, 7, 8]);
    expect(w.stats().queued).toBe(2);
  });

  it('drain() writes what is queued and stops at a failure or the deadline, then refuses new rows', async () => {
    const written: number[] = [];
    const w = make(async (rows) => void written.push(...rows.map((r) => r.ts)));
    [1, 2, 3, 4, 5].forEach((ts) => w.push(historyRow({ ts })));
    await w.drain(1000);
    expect(written).toEqual([1, 2, 3, 4, 5]);
    expect(w.push(historyRow())).toBe(false);

    const stuck = make(() => new Promise<void>(() => undefined));
    stuck.push(historyRow());
    const started = Date.now();
    await stuck.drain(50);
    expect(Date.now() - started).toBeLessThan(500);

    const failing = make(async () => {
      throw new Error('readonly database');
    });
    [1, 2, 3, 4].forEach((ts) => failing.push(historyRow({ ts })));
    await failing.drain(5000);
    expect(failing.stats()).toMatchObject({ writeErrors: 1, written: 0 });
  });
});
