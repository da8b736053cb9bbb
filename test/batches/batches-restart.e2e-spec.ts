import type { GatewayUnderTest } from '../support/gateway';
import { eventually } from '../support/gateway';
import {
  deleteKeys,
  params,
  resultsOf,
  sdk,
  startBatchGateway,
  uniquePrefix,
  waitForStatus,
} from './support';

/**
 * A gateway restart mid-batch: the first process goes away with requests running and queued, a second one
 * on the same Redis prefix finishes the batch, every request accounted for exactly once.
 */
describe('Message Batches across a gateway restart', () => {
  let prefix: string;
  const open: GatewayUnderTest[] = [];

  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((g) => g.stop()));
    await deleteKeys(prefix);
  });

  const requests = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      custom_id: `req-${i}`,
      params: params('openai,gpt-fake', `restart-${i}`, { firstByteDelayMs: 3000 }),
    }));

  async function restartMidBatch(bullmq: boolean): Promise<void> {
    const batchQueue = { concurrency: 2, attempts: 3, backoffMs: 200 };
    const first = await startBatchGateway({ prefix, bullmq, batchQueue });
    open.push(first);
    const created = await sdk(first.url).messages.batches.create({ requests: requests(6) });
    await eventually(() => first.fake.inFlight() >= 2, 5000);

    await first.close(); // the app only: its fake stays up until afterEach
    const second = await startBatchGateway({ prefix, bullmq, batchQueue });
    open.push(second);
    const client = sdk(second.url);
    const midway = await client.messages.batches.retrieve(created.id);
    expect(midway.processing_status).toBe('in_progress');
    expect(midway.request_counts.processing).toBeGreaterThan(0);

    const ended = await waitForStatus(client, created.id, 'ended', 45_000);
    expect(ended.request_counts).toEqual({
      processing: 0,
      succeeded: 6,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    const results = await resultsOf(client, created.id);
    expect(results.map((r) => r.custom_id)).toEqual(requests(6).map((r) => r.custom_id));
    expect(results.every((r) => r.result.type === 'succeeded')).toBe(true);
    // The requests in flight when the first process went (longer than its shutdown grace) were handed
    // back and ran again on the second; the result of each is recorded once.
    const saw = (gw: GatewayUnderTest, tag: string): boolean =>
      gw.fake.requests.some((r) => JSON.stringify(r.body).includes(tag));
    expect(saw(first, 'restart-0') && saw(second, 'restart-0')).toBe(true);
    expect(saw(second, 'restart-5')).toBe(true);
    expect(saw(first, 'restart-5')).toBe(false);
  }

  it('BullMQ jobs and the Redis store: the second gateway finishes the batch', async () => {
    await restartMidBatch(true);
  });

  it('Redis store with the in-process queue: pending requests are queued again after the restart', async () => {
    await restartMidBatch(false);
  });
});
