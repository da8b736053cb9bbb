import type { Job } from 'bullmq';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { UpstreamCallService, UpstreamJob } from '../../src/failover/upstream-call.service';
import type { StreamEvent } from '../../src/protocol/types';
import { RelayOutbox } from '../../src/queue/job-publisher';
import { parseEntries } from '../../src/queue/job-stream';
import { claimJob, queueKeys, type RequestJobData } from '../../src/queue/queue-keys';
import { runRequestJob } from '../../src/queue/request-job';
import { startRedisStack, waitFor, type RedisStack } from '../redis/harness';

/**
 * The worker side of a relayed request against real Redis: who runs it is decided once (the worker's claim
 * or the requester's take-back), so an enqueue whose reply came late never costs two upstream calls.
 */
describe('runRequestJob (real Redis)', () => {
  let stack: RedisStack;
  let client: Redis;
  let keys: ReturnType<typeof queueKeys>;
  const calls: string[] = [];
  const answer: StreamEvent[] = [
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
  ];
  const upstream = {
    call: (job: UpstreamJob) => {
      calls.push(job.requestId);
      return Promise.resolve({
        target: 'fake,m',
        attempts: [],
        head: [],
        events: (async function* () {
          yield* answer;
        })(),
      });
    },
  } as unknown as UpstreamCallService;

  beforeAll(async () => {
    stack = startRedisStack(process.env.TEST_REDIS_URL, {
      Redis: { keyPrefix: `switchyard-test:rj:${randomUUID().slice(0, 8)}:` },
    });
    await waitFor(() => stack.redis.mode === 'redis');
    client = stack.redis.client as Redis;
    keys = queueKeys(stack.redis);
  });

  afterAll(async () => {
    const leftovers = await client.keys(`${stack.redis.keyPrefix}*`);
    if (leftovers.length > 0) {
      await client.del(...leftovers);
    }
    await stack.close();
  });

  beforeEach(() => {
    calls.length = 0;
  });

  function run(id: string): Promise<unknown> {
    const job = {
      id,
      data: { job: { requestId: id } as UpstreamJob, replyTo: 'api-1', enqueuedAt: Date.now() },
    } as unknown as Job<RequestJobData<UpstreamJob>>;
    return runRequestJob(
      {
        redis: stack.redis,
        keys,
        workerId: 'worker-1',
        upstream,
        outbox: new RelayOutbox(() => client),
        running: new Map(),
        workerLostMs: 5000,
        workerHeartbeatMs: 1000,
      },
      job,
    );
  }

  const entries = async (id: string) => parseEntries(await client.xread('STREAMS', keys.stream(id), '0'));

  it('runs a job whose requester waits: claims it and writes the answer to its stream', async () => {
    const id = randomUUID();
    await client.set(keys.waiting(id), '1', 'PX', 5000);
    await expect(run(id)).resolves.toEqual({ target: 'fake,m' });
    expect(calls).toEqual([id]);
    expect(await client.get(keys.claim(id))).toBe('worker-1');
    const [entry, ...rest] = await entries(id);
    expect(entry).toMatchObject({ start: { worker: 'worker-1' } });
    expect([entry, ...rest].flatMap((e) => e.events)).toEqual(answer);
    expect(rest.at(-1)?.end ?? entry.end).toEqual({ kind: 'done' });
    // The requester, coming back late, finds the job taken and follows it instead of running it again.
    expect(await claimJob(client, keys.claim(id), 'requester:api-1')).toBe(false);
  });

  it('skips a job its requester took back (the enqueue seemed to fail): no upstream call, nothing written', async () => {
    const id = randomUUID();
    await client.set(keys.waiting(id), '1', 'PX', 5000);
    expect(await claimJob(client, keys.claim(id), 'requester:api-1')).toBe(true);
    await expect(run(id)).resolves.toEqual({ skipped: 'the requester runs it itself' });
    expect(calls).toEqual([]);
    expect(await entries(id)).toEqual([]);
    expect(await client.exists(keys.worker(id))).toBe(0);
  });

  it('answers a job whose requester is gone with a clean 503 on its stream, without an upstream call', async () => {
    const id = randomUUID();
    await expect(run(id)).resolves.toEqual({ skipped: 'the requester is gone' });
    expect(calls).toEqual([]);
    const [entry] = await entries(id);
    expect(entry.end).toMatchObject({ kind: 'failed', error: { status: 503 } });
  });
});
