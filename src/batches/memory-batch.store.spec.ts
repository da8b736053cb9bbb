import { GatewayError } from '../protocol/errors';
import { BatchIdFactory } from './batch-id';
import { emptyCounts, type BatchRecord, type BatchRequestInput } from './batch.types';
import { MemoryBatchStore } from './memory-batch.store';

const ids = new BatchIdFactory();

function newBatch(n: number, now = 1000): { record: BatchRecord; requests: BatchRequestInput[] } {
  return {
    record: {
      id: ids.next(now),
      status: 'in_progress',
      total: n,
      counts: emptyCounts(n),
      createdAt: now,
      expiresAt: now + 60_000,
      endedAt: null,
      cancelInitiatedAt: null,
    },
    requests: Array.from({ length: n }, (_, i) => ({ custom_id: `r${i}`, params: { i } })),
  };
}

const message = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'm',
  content: [],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 1, output_tokens: 1 },
} as never;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
  }
  return out;
}

describe('MemoryBatchStore', () => {
  it('settles each request once, counts it and ends the batch with the last one', async () => {
    const store = new MemoryBatchStore(10_000);
    const { record, requests } = newBatch(3);
    await store.create(record, requests);
    expect(await store.params(record.id, 1)).toEqual({ i: 1 });

    const first = await store.settle(
      record.id,
      [{ index: 1, outcome: 'succeeded', result: { type: 'succeeded', message } }],
      2000,
    );
    expect(first).toEqual({ settled: 1, ended: false });
    // A retry or a racing cancel cannot overwrite or double count.
    expect(
      await store.settle(record.id, [{ index: 1, outcome: 'canceled', result: { type: 'canceled' } }], 2000),
    ).toEqual({ settled: 0, ended: false });
    expect(await store.params(record.id, 1)).toBeUndefined();
    expect(await store.pending(record.id)).toEqual([0, 2]);

    const last = await store.settleRemaining(record.id, 'expired', { type: 'expired' }, 3000);
    expect(last).toEqual({ settled: 2, ended: true });
    const ended = await store.get(record.id);
    expect(ended).toMatchObject({
      status: 'ended',
      endedAt: 3000,
      counts: { processing: 0, succeeded: 1, errored: 0, canceled: 0, expired: 2 },
    });
    expect(await collect(store.results(record.id))).toEqual([
      { custom_id: 'r0', result: { type: 'expired' } },
      { custom_id: 'r1', result: { type: 'succeeded', message } },
      { custom_id: 'r2', result: { type: 'expired' } },
    ]);
    expect(await store.unfinished()).toEqual([]);
  });

  it('cancel moves in_progress to canceling once', async () => {
    const store = new MemoryBatchStore(10_000);
    const { record, requests } = newBatch(1);
    await store.create(record, requests);
    expect(await store.cancel(record.id, 5)).toMatchObject({ status: 'canceling', cancelInitiatedAt: 5 });
    expect(await store.cancel(record.id, 9)).toMatchObject({ status: 'canceling', cancelInitiatedAt: 5 });
    expect(await store.cancel('msgbatch_unknown', 9)).toBeUndefined();
  });

  it('pages newest first with after_id / before_id cursors', async () => {
    const store = new MemoryBatchStore(10_000);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { record, requests } = newBatch(1, 10_000 + i);
      await store.create(record, requests);
      created.push(record.id);
    }
    const newest = [...created].reverse();
    const first = await store.list({ limit: 2 });
    expect(first.batches.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const second = await store.list({ limit: 2, afterId: newest[1] });
    expect(second.batches.map((b) => b.id)).toEqual(newest.slice(2, 4));
    const third = await store.list({ limit: 2, afterId: newest[3] });
    expect(third).toMatchObject({ hasMore: false });
    expect(third.batches.map((b) => b.id)).toEqual(newest.slice(4));
    const back = await store.list({ limit: 2, beforeId: newest[4] });
    expect(back.batches.map((b) => b.id)).toEqual(newest.slice(2, 4));
    expect(back.hasMore).toBe(true);
    const top = await store.list({ limit: 2, beforeId: newest[2] });
    expect(top.batches.map((b) => b.id)).toEqual(newest.slice(0, 2));
    expect(top.hasMore).toBe(false);
  });

  it('forgets ended batches after the retention', async () => {
    const store = new MemoryBatchStore(1000);
    const { record, requests } = newBatch(1);
    await store.create(record, requests);
    await store.settleRemaining(record.id, 'expired', { type: 'expired' }, 2000);
    await store.prune(2999);
    expect(await store.get(record.id)).toBeDefined();
    await store.prune(3000);
    expect(await store.get(record.id)).toBeUndefined();
  });

  it('holds at most maxBatches: ended ones make room, unfinished ones refuse more', async () => {
    const store = new MemoryBatchStore(60_000, 2);
    const a = newBatch(1);
    const b = newBatch(1);
    await store.create(a.record, a.requests);
    await store.create(b.record, b.requests);
    const c = newBatch(1);
    await expect(store.create(c.record, c.requests)).rejects.toMatchObject({ status: 429 });
    await expect(store.create(c.record, c.requests)).rejects.toBeInstanceOf(GatewayError);
    await store.settleRemaining(a.record.id, 'expired', { type: 'expired' }, 1);
    await store.create(c.record, c.requests);
    expect(store.size).toBe(2);
    expect(await store.get(a.record.id)).toBeUndefined();
  });
});
