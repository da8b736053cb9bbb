import Anthropic from '@anthropic-ai/sdk';
import type { GatewayUnderTest } from '../support/gateway';
import { eventually } from '../support/gateway';
import {
  deleteKeys,
  keysUnder,
  params,
  resultsOf,
  sdk,
  startBatchGateway,
  ttlsOf,
  uniquePrefix,
  waitForStatus,
} from './support';

const textOf = (body: any): string => JSON.stringify(body?.messages ?? body?.contents ?? '');

describe('Message Batches on Redis + BullMQ (official SDK): processing, errors, cancel, expiry', () => {
  let prefix: string;
  let gw: GatewayUnderTest | undefined;
  let client: Anthropic;

  const start = async (options: Parameters<typeof startBatchGateway>[0] = {}): Promise<GatewayUnderTest> => {
    gw = await startBatchGateway({ prefix, ...options });
    client = sdk(gw.url);
    return gw;
  };
  /** Upstream calls whose prompt contains `tag`. */
  const calls = (tag: string): number => gw!.fake.requests.filter((r) => textOf(r.body).includes(tag)).length;

  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await deleteKeys(prefix);
  });

  it('runs every request through each provider kind and ends with succeeded results', async () => {
    await start();
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'via-openai', params: params('openai,gpt-fake', 'one') },
        { custom_id: 'via-anthropic', params: params('anthropic,claude-fake', 'two') },
        { custom_id: 'via-gemini', params: params('gemini,gemini-fake', 'three') },
      ],
    });
    expect(created).toMatchObject({ type: 'message_batch', archived_at: null, cancel_initiated_at: null });
    expect(created.id).toMatch(/^msgbatch_[0-9A-Z]{26}$/);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(86_400_000);
    const ended = await waitForStatus(client, created.id, 'ended');
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 3,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    expect(ended.ended_at).not.toBeNull();
    expect(ended.results_url).toBe(`${gw!.url}/v1/messages/batches/${created.id}/results`);
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => r.custom_id)).toEqual(['via-openai', 'via-anthropic', 'via-gemini']);
    for (const r of results) {
      expect(r.result.type).toBe('succeeded');
      if (r.result.type === 'succeeded') {
        expect(r.result.message).toMatchObject({
          type: 'message',
          role: 'assistant',
          stop_reason: 'end_turn',
        });
        expect(r.result.message.content).toEqual([
          expect.objectContaining({ type: 'text', text: 'Hello from fake provider' }),
        ]);
        expect(r.result.message.usage.output_tokens).toBeGreaterThan(0);
      }
    }
    expect(gw!.fake.count({ api: 'openai' })).toBe(1);
    expect(gw!.fake.count({ api: 'anthropic' })).toBe(1);
    expect(gw!.fake.count({ api: 'gemini' })).toBe(1);
    // The store is in Redis under the gateway's prefix, the jobs in BullMQ under it too.
    const keys = await keysUnder(prefix);
    expect(keys.some((k) => k.includes(`batch:v1:{${created.id}}:meta`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${prefix}q:batch:`))).toBe(true);
  });

  it('keeps a batch for expiry + retention, then for the retention once it ended', async () => {
    await start({ batches: { expiresAfterSec: 3600, retainSec: 600 }, batchQueue: { concurrency: 1 } });
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'a', params: params('openai,gpt-fake', 'ttl-a') },
        { custom_id: 'b', params: params('openai,gpt-fake', 'ttl-b', { firstByteDelayMs: 800 }) },
      ],
    });
    const key = (part: string): string => `${prefix}batch:v1:{${created.id}}:${part}`;
    await eventually(
      async () => (await client.messages.batches.retrieve(created.id)).request_counts.succeeded === 1,
    );
    const running = await ttlsOf([key('meta'), key('req'), key('ids'), key('res')]);
    for (const ttl of running) {
      expect(ttl).toBeGreaterThan(4_100_000);
      expect(ttl).toBeLessThanOrEqual(4_200_000);
    }
    await waitForStatus(client, created.id, 'ended');
    const [meta, req, ids, res] = await ttlsOf([key('meta'), key('req'), key('ids'), key('res')]);
    expect(req).toBe(-2); // every request settled: no params left
    for (const ttl of [meta, ids, res]) {
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    }
  });

  it('records errors: 4xx at once without retry, retryable failures after the last attempt', async () => {
    await start({ batchQueue: { attempts: 2, backoffMs: 100 } });
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'ok', params: params('openai,gpt-fake', 'fine') },
        {
          custom_id: 'bad',
          params: params('anthropic,claude-fake', 'tag-bad', { fault: { type: 'status', status: 400 } }),
        },
        {
          custom_id: 'busy',
          params: params('gemini,gemini-fake', 'tag-busy', { fault: { type: 'status', status: 529 } }),
        },
        { custom_id: 'nowhere', params: params('nosuch,model', 'tag-nowhere') },
      ],
    });
    const ended = await waitForStatus(client, created.id, 'ended');
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 1,
      errored: 3,
      canceled: 0,
      expired: 0,
    });
    const byId = Object.fromEntries(
      (await resultsOf(client, created.id)).map((r) => [r.custom_id, r.result]),
    );
    expect(byId.ok.type).toBe('succeeded');
    expect(byId.bad).toMatchObject({
      type: 'errored',
      error: { type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } },
    });
    expect(byId.busy).toMatchObject({
      type: 'errored',
      error: { type: 'error', error: { type: 'overloaded_error' } },
    });
    expect(byId.nowhere).toMatchObject({
      type: 'errored',
      error: {
        type: 'error',
        error: { type: 'not_found_error', message: expect.stringContaining('nosuch,model') },
      },
    });
    expect(calls('tag-bad')).toBe(1); // final at once
    expect(calls('tag-busy')).toBeGreaterThanOrEqual(2); // one call per attempt at least
    expect(calls('tag-nowhere')).toBe(0);
  });

  it('cancel: queued requests never reach the upstream, the batch ends with them canceled', async () => {
    await start({ batchQueue: { concurrency: 1 } });
    const slow = { firstByteDelayMs: 4000 };
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'fast', params: params('openai,gpt-fake', 'tag-fast') },
        ...[1, 2, 3, 4].map((i) => ({
          custom_id: `slow-${i}`,
          params: params('openai,gpt-fake', `tag-slow-${i}`, slow),
        })),
      ],
    });
    await eventually(
      async () => (await client.messages.batches.retrieve(created.id)).request_counts.succeeded === 1,
      10_000,
    );
    await eventually(() => calls('tag-slow-1') === 1, 5000);
    const canceling = await client.messages.batches.cancel(created.id);
    expect(['canceling', 'ended']).toContain(canceling.processing_status);
    expect(canceling.cancel_initiated_at).not.toBeNull();
    const ended = await waitForStatus(client, created.id, 'ended', 5000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 1,
      errored: 0,
      canceled: 4,
      expired: 0,
    });
    expect(ended.cancel_initiated_at).toBe(canceling.cancel_initiated_at);
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => [r.custom_id, r.result.type])).toEqual([
      ['fast', 'succeeded'],
      ['slow-1', 'canceled'],
      ['slow-2', 'canceled'],
      ['slow-3', 'canceled'],
      ['slow-4', 'canceled'],
    ]);
    // The running one was stopped; the queued ones were taken off the queue before they ran.
    expect(calls('tag-slow-2') + calls('tag-slow-3') + calls('tag-slow-4')).toBe(0);
    await eventually(() => gw!.fake.inFlight() === 0, 5000);
  });

  it('expiry: a batch not ended by expires_at ends with its unfinished requests expired', async () => {
    await start({ batchQueue: { concurrency: 1 }, batches: { expiresAfterSec: 2 } });
    const slow = { firstByteDelayMs: 8000 };
    const created = await client.messages.batches.create({
      requests: [
        { custom_id: 'quick', params: params('openai,gpt-fake', 'tag-quick') },
        { custom_id: 'stuck', params: params('openai,gpt-fake', 'tag-stuck', slow) },
        { custom_id: 'waiting', params: params('openai,gpt-fake', 'tag-waiting') },
      ],
    });
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(2000);
    const ended = await waitForStatus(client, created.id, 'ended', 6000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 1,
      errored: 0,
      canceled: 0,
      expired: 2,
    });
    expect(Date.parse(ended.ended_at!)).toBeGreaterThanOrEqual(Date.parse(created.expires_at));
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => [r.custom_id, r.result.type])).toEqual([
      ['quick', 'succeeded'],
      ['stuck', 'expired'],
      ['waiting', 'expired'],
    ]);
    expect(calls('tag-waiting')).toBe(0);
    await eventually(() => gw!.fake.inFlight() === 0, 5000); // the stuck call was stopped
  });

  it('a large batch is written and read back in slices (600 requests, results in request order)', async () => {
    await start({ batchQueue: { concurrency: 16 } });
    const n = 600;
    // Identical params: one upstream answer, the rest served by the cache / coalescing on the normal path.
    const same = params('openai,gpt-fake', 'large batch');
    const created = await client.messages.batches.create({
      requests: Array.from({ length: n }, (_, i) => ({ custom_id: `item-${i}`, params: same })),
    });
    expect(created.request_counts.processing + created.request_counts.succeeded).toBe(n);
    const ended = await waitForStatus(client, created.id, 'ended', 40_000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: n,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => r.custom_id)).toEqual(Array.from({ length: n }, (_, i) => `item-${i}`));
    expect(gw!.fake.count({ api: 'openai' })).toBeLessThan(n);
  });
});
